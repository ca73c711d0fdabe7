"""Messages, gifts and the audit log. Part of :mod:`safestream.store.repo`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from .. import _convert as conv
from ..errors import InvalidTransition, MessageNotFound
from ..models import Gift, Message, ModerationAction
from ..records import ActionRecord, ActionRow, GiftRow, MessageRecord, MessageRow, MessageStatus
from .accounts import ensure_rooms

STATUS_TRANSITIONS: dict[str, dict[str, str]] = {
    MessageStatus.HELD: {
        MessageStatus.VISIBLE: "approve",
        MessageStatus.REJECTED: "reject",
        MessageStatus.DELETED: "delete",
    },
    MessageStatus.VISIBLE: {MessageStatus.DELETED: "delete"},
}
"""Allowed status changes: ``{from: {to: audit action}}``. Other statuses are final."""


# -- writes from the PersistenceWriter --------------------------------------------------


def insert_batch(
    s: Session,
    messages: Sequence[MessageRow],
    gifts: Sequence[GiftRow],
    actions: Sequence[ActionRow],
) -> None:
    """Insert a batch of rows in the caller's transaction (one commit per batch).

    Rooms named by messages or gifts are created if missing. Each kind is sent as one
    multi-row INSERT. A duplicate message id or ``(room, seq)`` raises
    ``sqlalchemy.exc.IntegrityError`` and the caller must roll the batch back.
    """
    ensure_rooms(s, {m.room for m in messages} | {g.room for g in gifts})
    if messages:
        s.execute(insert(Message), [conv.message_values(m) for m in messages])
    if gifts:
        s.execute(insert(Gift), [conv.gift_values(g) for g in gifts])
    if actions:
        now = datetime.now(UTC)
        s.execute(insert(ModerationAction), [conv.action_values(a, now) for a in actions])


# -- messages --------------------------------------------------------------------------


def room_history(
    s: Session, room: str, limit: int, after_seq: int | None = None
) -> list[MessageRecord]:
    """Visible messages of ``room`` in ascending ``seq`` order.

    Without ``after_seq``: the newest ``limit`` (history on join). With it: the first
    ``limit`` with ``seq > after_seq`` (catching up after a reconnect).
    """
    where = (Message.room == room, Message.status == MessageStatus.VISIBLE)
    if after_seq is not None:
        stmt = select(Message).where(*where, Message.seq > after_seq).order_by(Message.seq)
        return [conv.message_record(m) for m in s.scalars(stmt.limit(limit))]
    stmt = select(Message).where(*where).order_by(Message.seq.desc()).limit(limit)
    return [conv.message_record(m) for m in reversed(s.scalars(stmt).all())]


def last_seq(s: Session, room: str) -> int:
    """The highest ``seq`` stored for ``room`` in any status, or 0."""
    return s.scalar(select(func.max(Message.seq)).where(Message.room == room)) or 0


def get_message(s: Session, message_id: str) -> MessageRecord | None:
    """Return the message with this id, or ``None``."""
    m = s.get(Message, message_id)
    return None if m is None else conv.message_record(m)


def update_message_status(
    s: Session, message_id: str, status: str, actor: str, *, reason: str | None = None
) -> MessageRecord:
    """Move a message to ``status`` and write the audit entry, in one transaction.

    Allowed moves are in :data:`STATUS_TRANSITIONS` (held -> visible is ``approve``,
    held -> rejected ``reject``, held/visible -> deleted ``delete``). The change is a
    compare-and-set (``UPDATE ... WHERE status = <status read>``), so when two
    moderators act on the same message at once exactly one succeeds, on SQLite too.

    Raises:
        MessageNotFound: no such message.
        InvalidTransition: the move is not allowed from the current status, or another
            writer changed the status first.
    """
    m = s.get(Message, message_id)
    if m is None:
        raise MessageNotFound(message_id)
    previous = m.status
    audit_action = STATUS_TRANSITIONS.get(previous, {}).get(status)
    if audit_action is None:
        raise InvalidTransition(message_id, previous, status)
    changed = s.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == previous)
        .values(status=status)
        .returning(Message.id)
    ).scalar_one_or_none()
    if changed is None:
        s.refresh(m)
        raise InvalidTransition(message_id, m.status, status)
    s.add(
        ModerationAction(
            **conv.action_values(
                ActionRow(
                    actor=actor,
                    action=audit_action,
                    target=m.username,
                    room=m.room,
                    reason=reason,
                    detail={"message_id": message_id, "from": previous, "to": status},
                ),
                datetime.now(UTC),
            )
        )
    )
    s.flush()
    return conv.message_record(m)


def held_messages(s: Session, room: str | None = None, limit: int = 100) -> list[MessageRecord]:
    """Messages waiting for review, oldest first."""
    stmt = select(Message).where(Message.status == MessageStatus.HELD)
    if room is not None:
        stmt = stmt.where(Message.room == room)
    stmt = stmt.order_by(Message.ts, Message.seq).limit(limit)
    return [conv.message_record(m) for m in s.scalars(stmt)]


def recent_messages(
    s: Session,
    room: str | None = None,
    user: str | None = None,
    toxic_only: bool = False,
    action: str | None = None,
    limit: int = 100,
) -> list[MessageRecord]:
    """Messages in any status, newest first, optionally filtered."""
    stmt = select(Message)
    if room is not None:
        stmt = stmt.where(Message.room == room)
    if user is not None:
        stmt = stmt.where(Message.username == user)
    if toxic_only:
        stmt = stmt.where(Message.toxic.is_(True))
    if action is not None:
        stmt = stmt.where(Message.action == action)
    stmt = stmt.order_by(Message.ts.desc(), Message.seq.desc()).limit(limit)
    return [conv.message_record(m) for m in s.scalars(stmt)]


def message_stats(s: Session) -> tuple[int, int]:
    """Return ``(total messages, toxic messages)``."""
    toxic = func.coalesce(func.sum(case((Message.toxic.is_(True), 1), else_=0)), 0)
    total, n_toxic = s.execute(select(func.count(), toxic).select_from(Message)).one()
    return int(total), int(n_toxic)


# -- gifts and audit log ---------------------------------------------------------------


def top_gifters(s: Session, limit: int = 10, room: str | None = None) -> list[tuple[str, int]]:
    """``(username, total amount)`` pairs, largest total first, ties by name."""
    total = func.sum(Gift.amount).label("total")
    stmt = select(Gift.from_user, total).group_by(Gift.from_user)
    if room is not None:
        stmt = stmt.where(Gift.room == room)
    stmt = stmt.order_by(total.desc(), Gift.from_user).limit(limit)
    return [(name, int(amount)) for name, amount in s.execute(stmt)]


def gift_count(s: Session) -> int:
    """Number of gifts stored."""
    return s.scalar(select(func.count()).select_from(Gift)) or 0


def audit_log(
    s: Session,
    limit: int = 100,
    actor: str | None = None,
    target: str | None = None,
    *,
    room: str | None = None,
    action: str | None = None,
) -> list[ActionRecord]:
    """Audit-log entries, newest first, optionally filtered."""
    stmt = select(ModerationAction)
    for column, value in (
        (ModerationAction.actor, actor),
        (ModerationAction.target, target),
        (ModerationAction.room, room),
        (ModerationAction.action, action),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    stmt = stmt.order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
    return [conv.action_record(a) for a in s.scalars(stmt.limit(limit))]

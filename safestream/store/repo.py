"""Queries and writes: plain synchronous functions taking a ``Session``.

The caller owns the transaction; nothing here commits. The app runs these in worker
threads, one session per call::

    def _write(batch: Batch) -> None:
        with sessions.begin() as s:          # one transaction: group commit
            repo.insert_batch(s, batch.messages, batch.gifts, batch.actions)

    await trio.to_thread.run_sync(_write, batch, limiter=db_limiter)

Results are records from :mod:`safestream.store.records`, never ORM objects. Lists
come back in the order each function documents; ``limit`` is always applied in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from . import _convert as conv
from .errors import (
    InvalidTransition,
    MessageNotFound,
    StalePolicyVersion,
    UserExists,
    UserNotFound,
)
from .models import Gift, Message, ModerationAction, Room, User
from .records import (
    NAME_MAX_LENGTH,
    ROLES,
    ActionRecord,
    ActionRow,
    GiftRow,
    MessageRecord,
    MessageRow,
    RoomRecord,
    UserRecord,
)

__all__ = [
    "STATUS_TRANSITIONS",
    "audit_log",
    "create_user",
    "ensure_room",
    "get_message",
    "get_user",
    "gift_count",
    "held_messages",
    "insert_batch",
    "last_seq",
    "list_users",
    "message_stats",
    "recent_messages",
    "room_history",
    "save_room_policy",
    "set_ban",
    "set_role",
    "top_gifters",
    "update_message_status",
]

STATUS_TRANSITIONS: dict[str, dict[str, str]] = {
    "held": {"visible": "approve", "rejected": "reject", "deleted": "delete"},
    "visible": {"deleted": "delete"},
}
"""Allowed status changes: ``{from: {to: audit action}}``. Other statuses are final."""


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, got {role!r}")


def _user(s: Session, username: str, *, for_update: bool = False) -> User:
    stmt = select(User).where(User.username == username)
    user = s.scalars(stmt.with_for_update() if for_update else stmt).one_or_none()
    if user is None:
        raise UserNotFound(username)
    return user


# -- users -----------------------------------------------------------------------------


def create_user(
    s: Session, username: str, email: str | None, password_hash: str, role: str = "viewer"
) -> UserRecord:
    """Add a user and return it.

    Uses ``INSERT ... ON CONFLICT DO NOTHING``, so a duplicate leaves the caller's
    transaction usable.

    Raises:
        UserExists: the username is taken (usernames are case-sensitive).
        ValueError: unknown role or username longer than the column.
    """
    _check_role(role)
    if not 0 < len(username) <= NAME_MAX_LENGTH:
        raise ValueError(f"username must be 1..{NAME_MAX_LENGTH} characters")
    now = datetime.now(UTC)
    stmt = (
        conv.insert_for(s, User)
        .values(
            username=username,
            email=email,
            password_hash=password_hash,
            role=role,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[User.username])
        .returning(User.id)
    )
    new_id = s.execute(stmt).scalar_one_or_none()
    if new_id is None:
        raise UserExists(username)
    return UserRecord(
        id=new_id,
        username=username,
        email=email,
        password_hash=password_hash,
        role=role,
        created_at=now,
    )


def get_user(s: Session, username: str) -> UserRecord | None:
    """Return the user called ``username``, or ``None``."""
    user = s.scalars(select(User).where(User.username == username)).one_or_none()
    return None if user is None else conv.user_record(user)


def list_users(s: Session) -> list[UserRecord]:
    """Return all users ordered by username."""
    return [conv.user_record(u) for u in s.scalars(select(User).order_by(User.username))]


def set_role(s: Session, username: str, role: str) -> UserRecord:
    """Change a user's role. Raises :class:`UserNotFound` or ``ValueError``."""
    _check_role(role)
    user = _user(s, username, for_update=True)
    user.role = role
    s.flush()
    return conv.user_record(user)


def set_ban(
    s: Session, username: str, until: datetime | None, reason: str | None = None
) -> UserRecord:
    """Ban a user until ``until`` (aware datetime), or lift the ban with ``None``.

    Raises :class:`UserNotFound`. The audit entry is the caller's, as an ``ActionRow``.
    """
    if until is not None and until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    user = _user(s, username, for_update=True)
    user.banned_until = until
    user.ban_reason = reason if until is not None else None
    s.flush()
    return conv.user_record(user)


# -- rooms -----------------------------------------------------------------------------


def _ensure_rooms(s: Session, names: set[str]) -> None:
    if not names:
        return
    now = datetime.now(UTC)
    rows = [{"name": n, "created_at": now, "policy_version": 0} for n in sorted(names)]
    s.execute(conv.insert_for(s, Room).on_conflict_do_nothing(index_elements=[Room.name]), rows)


def ensure_room(s: Session, name: str) -> RoomRecord:
    """Return the room ``name``, creating it (no policy, version 0) if missing."""
    if not 0 < len(name) <= NAME_MAX_LENGTH:
        raise ValueError(f"room name must be 1..{NAME_MAX_LENGTH} characters")
    _ensure_rooms(s, {name})
    return conv.room_record(s.scalars(select(Room).where(Room.name == name)).one())


def save_room_policy(s: Session, name: str, policy: dict[str, Any], version: int) -> RoomRecord:
    """Store ``policy`` as version ``version`` of room ``name`` (created if missing).

    Versions only go up: saving the stored version again with the same policy is a
    no-op, anything older or a different policy under the same version raises
    :class:`StalePolicyVersion`.
    """
    ensure_room(s, name)
    room = s.scalars(select(Room).where(Room.name == name).with_for_update()).one()
    if version < room.policy_version or (version == room.policy_version and room.policy != policy):
        raise StalePolicyVersion(name, room.policy_version, version)
    room.policy = dict(policy)
    room.policy_version = version
    s.flush()
    return conv.room_record(room)


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
    _ensure_rooms(s, {m.room for m in messages} | {g.room for g in gifts})
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
    where = (Message.room == room, Message.status == "visible")
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
    held -> rejected ``reject``, held/visible -> deleted ``delete``). The row is
    locked (``SELECT ... FOR UPDATE`` on PostgreSQL), so two moderators acting at
    once cannot both succeed.

    Raises:
        MessageNotFound: no such message.
        InvalidTransition: the move is not allowed from the current status.
    """
    m = s.get(Message, message_id, with_for_update=True)
    if m is None:
        raise MessageNotFound(message_id)
    audit_action = STATUS_TRANSITIONS.get(m.status, {}).get(status)
    if audit_action is None:
        raise InvalidTransition(message_id, m.status, status)
    previous, m.status = m.status, status
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
    stmt = select(Message).where(Message.status == "held")
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

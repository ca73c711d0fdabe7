"""Policy history, shadow policies, replay windows and decisions' explanations.

Part of :mod:`safestream.store.repo`; import from there. Every room's saved policy is a
row of ``policy_versions`` (written by ``save_room_policy``); a shadow policy is a row of
``room_shadows`` that stays active until it is promoted, dropped or replaced; each
message keeps what the shadow would have done (``shadow_action``, ``shadow_id``), so
agreement is one ``GROUP BY``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import _convert as conv
from ..errors import NoShadow
from ..models import Message, PolicyVersion, RoomShadow
from ..records import MessageRecord, PolicyVersionRecord, ShadowRecord
from .accounts import ensure_room

SHADOW_OUTCOMES = frozenset({"promoted", "dropped", "replaced"})


# -- history ---------------------------------------------------------------------------


def policy_versions(
    s: Session, room: str, limit: int = 50, before: int | None = None
) -> list[PolicyVersionRecord]:
    """A room's saved policies, newest first; ``before``: only older versions."""
    stmt = select(PolicyVersion).where(PolicyVersion.room == room)
    if before is not None:
        stmt = stmt.where(PolicyVersion.version < before)
    stmt = stmt.order_by(PolicyVersion.version.desc()).limit(limit)
    return [conv.policy_version_record(p) for p in s.scalars(stmt)]


def policy_version(s: Session, room: str, version: int) -> PolicyVersionRecord | None:
    """Version ``version`` of ``room``'s policy as saved, or ``None``."""
    stmt = select(PolicyVersion).where(PolicyVersion.room == room, PolicyVersion.version == version)
    found = s.scalars(stmt).one_or_none()
    return None if found is None else conv.policy_version_record(found)


def policy_documents(s: Session, room: str, versions: Collection[int]) -> dict[int, dict[str, Any]]:
    """``{version: policy document}`` for the given versions that are in the history."""
    if not versions:
        return {}
    stmt = select(PolicyVersion.version, PolicyVersion.policy).where(
        PolicyVersion.room == room, PolicyVersion.version.in_(sorted(set(versions)))
    )
    return {int(version): dict(policy) for version, policy in s.execute(stmt)}


# -- shadows ---------------------------------------------------------------------------


def attach_shadow(s: Session, room: str, policy: Mapping[str, Any], by: str) -> ShadowRecord:
    """Attach ``policy`` to ``room`` in shadow mode; an active shadow is ``replaced``."""
    ensure_room(s, room)
    now = datetime.now(UTC)
    _detach_active(s, room, by, "replaced", now)
    shadow = RoomShadow(room=room, policy=dict(policy), attached_by=by, attached_at=now)
    s.add(shadow)
    s.flush()
    return conv.shadow_record(shadow)


def active_shadow(s: Session, room: str) -> ShadowRecord | None:
    """The shadow deciding ``room``'s messages now, or ``None``."""
    stmt = select(RoomShadow).where(RoomShadow.room == room, RoomShadow.detached_at.is_(None))
    found = s.scalars(stmt.order_by(RoomShadow.id.desc()).limit(1)).one_or_none()
    return None if found is None else conv.shadow_record(found)


def active_shadows(s: Session) -> list[ShadowRecord]:
    """Every room's active shadow (a node loads them when it starts)."""
    stmt = select(RoomShadow).where(RoomShadow.detached_at.is_(None)).order_by(RoomShadow.id)
    return [conv.shadow_record(r) for r in s.scalars(stmt)]


def detach_shadow(s: Session, room: str, by: str, outcome: str) -> ShadowRecord:
    """End ``room``'s active shadow with ``outcome`` (promoted or dropped).

    Raises:
        NoShadow: the room has no active shadow (someone ended it first).
        ValueError: an unknown outcome.
    """
    if outcome not in SHADOW_OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(SHADOW_OUTCOMES)}")
    ended = _detach_active(s, room, by, outcome, datetime.now(UTC))
    if ended is None:
        raise NoShadow(room)
    return ended


def _detach_active(
    s: Session, room: str, by: str, outcome: str, now: datetime
) -> ShadowRecord | None:
    # Compare-and-set, as message status changes: of two moderators ending the same
    # shadow at once, exactly one gets it.
    current = active_shadow(s, room)
    if current is None:
        return None
    done = s.execute(
        update(RoomShadow)
        .where(RoomShadow.id == current.id, RoomShadow.detached_at.is_(None))
        .values(detached_at=now, detached_by=by, outcome=outcome)
        .returning(RoomShadow.id)
    ).scalar_one_or_none()
    if done is None:
        return None
    s.expire_all()
    found = s.get(RoomShadow, current.id)
    return None if found is None else conv.shadow_record(found)


def shadow_tally(s: Session, shadow_id: int) -> dict[tuple[str, str], int]:
    """``{(action, shadow action): messages}`` decided while shadow ``shadow_id`` ran."""
    stmt = (
        select(Message.action, Message.shadow_action, func.count())
        .where(Message.shadow_id == shadow_id)
        .group_by(Message.action, Message.shadow_action)
    )
    return {(str(a), str(b)): int(n) for a, b, n in s.execute(stmt)}


def shadow_disagreements(
    s: Session, shadow_id: int, limit: int = 50, before_seq: int | None = None
) -> list[MessageRecord]:
    """Messages on which shadow ``shadow_id`` and the active policy differ, newest first.

    "unscored" (delivered without scores) counts as "allow", as viewers saw it.
    """
    active = func.coalesce(func.nullif(Message.action, "unscored"), "allow")
    stmt = select(Message).where(Message.shadow_id == shadow_id, Message.shadow_action != active)
    if before_seq is not None:
        stmt = stmt.where(Message.seq < before_seq)
    stmt = stmt.order_by(Message.seq.desc()).limit(limit)
    return [conv.message_record(m) for m in s.scalars(stmt)]


# -- replay windows and explanations ---------------------------------------------------


def window_count(
    s: Session,
    room: str,
    *,
    since: float | None = None,
    until: float | None = None,
    after_seq: int = 0,
) -> int:
    """Messages of ``room`` (any status) with ``seq > after_seq`` and ``since <= ts <
    until`` (either bound may be left out)."""
    stmt = select(func.count()).where(Message.room == room, Message.seq > after_seq)
    if since is not None:
        stmt = stmt.where(Message.ts >= since)
    if until is not None:
        stmt = stmt.where(Message.ts < until)
    return int(s.scalar(stmt) or 0)


def window_messages(
    s: Session,
    room: str,
    *,
    since: float | None = None,
    until: float | None = None,
    limit: int,
    after_seq: int = 0,
) -> list[MessageRecord]:
    """Messages of ``room`` in any status, ascending ``seq``: those with ``seq >
    after_seq`` and ``since <= ts < until`` (either bound may be left out), at most
    ``limit`` (the first ones; read a window in pages with ``after_seq``)."""
    stmt = select(Message).where(Message.room == room, Message.seq > after_seq)
    if since is not None:
        stmt = stmt.where(Message.ts >= since)
    if until is not None:
        stmt = stmt.where(Message.ts < until)
    stmt = stmt.order_by(Message.seq).limit(limit)
    return [conv.message_record(m) for m in s.scalars(stmt)]


def seq_before_last(
    s: Session, room: str, count: int, *, since: float | None = None, until: float | None = None
) -> int:
    """The ``seq`` just before ``room``'s newest ``count`` messages (within ``since <= ts
    < until`` when given), or 0 when there are no more than ``count``."""
    stmt = select(Message.seq).where(Message.room == room)
    if since is not None:
        stmt = stmt.where(Message.ts >= since)
    if until is not None:
        stmt = stmt.where(Message.ts < until)
    stmt = stmt.order_by(Message.seq.desc()).offset(count).limit(1)
    return int(s.scalar(stmt) or 0)


def set_message_why(s: Session, message_id: str, why: Mapping[str, Any]) -> bool:
    """Replace a message's stored explanation; False when there is no such message."""
    done = s.execute(
        update(Message).where(Message.id == message_id).values(why=dict(why)).returning(Message.id)
    ).scalar_one_or_none()
    return done is not None

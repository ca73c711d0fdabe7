"""Conversions between ORM rows and the store's records, and dialect helpers.

Private to :mod:`safestream.store`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Message, ModerationAction, PolicyVersion, Room, RoomShadow, User
from .records import (
    ActionRecord,
    ActionRow,
    GiftRow,
    MessageRecord,
    MessageRow,
    PolicyVersionRecord,
    RoomRecord,
    ShadowRecord,
    UserRecord,
)


def epoch_to_utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def insert_for(s: Session, entity: type[Room] | type[User]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ``ON CONFLICT DO NOTHING`` on the session's database."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def user_record(u: User) -> UserRecord:
    return UserRecord(
        id=u.id,
        username=u.username,
        email=u.email,
        password_hash=u.password_hash,
        role=u.role,
        created_at=u.created_at,
        banned_until=u.banned_until,
        ban_reason=u.ban_reason,
        muted_until=u.muted_until,
    )


def room_record(r: Room) -> RoomRecord:
    return RoomRecord(
        id=r.id,
        name=r.name,
        created_at=r.created_at,
        policy=dict(r.policy) if r.policy is not None else None,
        policy_version=r.policy_version,
    )


def message_values(m: MessageRow) -> dict[str, Any]:
    return {
        "id": m.id,
        "room": m.room,
        "seq": m.seq,
        "username": m.username,
        "text": m.text,
        "toxic": m.toxic,
        "score": m.score,
        "scores": dict(m.scores),
        "action": m.action,
        "delivered_text": m.delivered_text,
        "triggers": list(m.triggers),
        "policy_version": m.policy_version,
        "status": m.status,
        "ts": m.ts,
        "created_at": epoch_to_utc(m.ts),
        "why": dict(m.why) if m.why is not None else None,
        "shadow_action": m.shadow_action,
        "shadow_id": m.shadow_id,
    }


def message_record(m: Message) -> MessageRecord:
    return MessageRecord(
        id=m.id,
        room=m.room,
        seq=m.seq,
        username=m.username,
        text=m.text,
        ts=m.ts,
        toxic=m.toxic,
        score=m.score,
        scores=m.scores,
        action=m.action,
        delivered_text=m.delivered_text,
        triggers=m.triggers,
        policy_version=m.policy_version,
        status=m.status,
        created_at=m.created_at,
        why=m.why,
        shadow_action=m.shadow_action,
        shadow_id=m.shadow_id,
    )


def policy_version_record(p: PolicyVersion) -> PolicyVersionRecord:
    return PolicyVersionRecord(
        room=p.room,
        version=p.version,
        policy=dict(p.policy),
        created_at=p.created_at,
        created_by=p.created_by,
        source=p.source,
    )


def shadow_record(r: RoomShadow) -> ShadowRecord:
    return ShadowRecord(
        id=r.id,
        room=r.room,
        policy=dict(r.policy),
        attached_by=r.attached_by,
        attached_at=r.attached_at,
        detached_at=r.detached_at,
        detached_by=r.detached_by,
        outcome=r.outcome,
    )


def gift_values(g: GiftRow) -> dict[str, Any]:
    return {
        "room": g.room,
        "from_user": g.from_user,
        "gift_id": g.gift_id,
        "amount": g.amount,
        "ts": g.ts,
        "created_at": epoch_to_utc(g.ts),
    }


def action_values(a: ActionRow, now: datetime) -> dict[str, Any]:
    return {
        "actor": a.actor,
        "action": a.action,
        "target": a.target,
        "room": a.room,
        "reason": a.reason,
        "duration_secs": a.duration_secs,
        "detail": dict(a.detail) if a.detail is not None else None,
        "created_at": now if a.ts is None else epoch_to_utc(a.ts),
    }


def action_record(a: ModerationAction) -> ActionRecord:
    return ActionRecord(
        id=a.id,
        actor=a.actor,
        action=a.action,
        target=a.target,
        room=a.room,
        reason=a.reason,
        duration_secs=a.duration_secs,
        detail=a.detail,
        ts=a.created_at.timestamp(),
        created_at=a.created_at,
    )

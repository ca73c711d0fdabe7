"""SQLAlchemy ORM tables of the store.

Private to :mod:`safestream.store`: the rest of the app uses the records in
:mod:`safestream.store.records`. The schema itself is created by the Alembic
migrations in ``safestream/store/migrations``; these classes must match them (a test
compares the two).

Times are stored as UTC. :class:`UTCDateTime` gives back timezone-aware datetimes on
SQLite too, which has no timezone type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from .records import NAME_MAX_LENGTH

__all__ = [
    "Base",
    "Gift",
    "Message",
    "ModelLabel",
    "ModerationAction",
    "PolicyVersion",
    "Room",
    "RoomShadow",
    "UTCDateTime",
    "User",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts and returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite keeps the text as given; naive UTC text sorts and compares correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# BIGINT ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
Json: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
Name = String(NAME_MAX_LENGTH)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'moderator', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(Name, unique=True)
    # What the name looks like (accounts.auth.username_key): look-alikes are refused.
    name_key: Mapped[str | None] = mapped_column(Name, index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    banned_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ban_reason: Mapped[str | None] = mapped_column(Text)
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(Name, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    policy: Mapped[dict[str, Any] | None] = mapped_column(Json)
    policy_version: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("room", "seq"),
        CheckConstraint(
            "status IN ('visible', 'held', 'rejected', 'deleted', 'blocked')", name="status"
        ),
        Index("ix_messages_status_room_seq", "status", "room", "seq"),
        Index("ix_messages_ts", "ts"),
        Index("ix_messages_shadow_id", "shadow_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    room: Mapped[str] = mapped_column(Name, ForeignKey("rooms.name", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(Name, index=True)
    text: Mapped[str] = mapped_column(Text)
    toxic: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Double)
    scores: Mapped[dict[str, float]] = mapped_column(Json)
    action: Mapped[str] = mapped_column(String(16))
    delivered_text: Mapped[str | None] = mapped_column(Text)
    triggers: Mapped[list[str]] = mapped_column(Json)
    policy_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    ts: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    why: Mapped[dict[str, Any] | None] = mapped_column(Json)
    shadow_action: Mapped[str | None] = mapped_column(String(16))
    shadow_id: Mapped[int | None] = mapped_column(BigInteger)


class PolicyVersion(Base):
    """Every policy a room has had, so any version can be shown, replayed or restored."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("room", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room: Mapped[str] = mapped_column(Name, ForeignKey("rooms.name", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    policy: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(Name)
    source: Mapped[str] = mapped_column(String(200))


class RoomShadow(Base):
    """A candidate policy deciding a room's messages in shadow (one active per room)."""

    __tablename__ = "room_shadows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room: Mapped[str] = mapped_column(
        Name, ForeignKey("rooms.name", ondelete="CASCADE"), index=True
    )
    policy: Mapped[dict[str, Any]] = mapped_column(Json)
    attached_by: Mapped[str] = mapped_column(Name)
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detached_by: Mapped[str | None] = mapped_column(Name)
    outcome: Mapped[str | None] = mapped_column(String(16))


class Gift(Base):
    __tablename__ = "gifts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room: Mapped[str] = mapped_column(
        Name, ForeignKey("rooms.name", ondelete="CASCADE"), index=True
    )
    from_user: Mapped[str] = mapped_column(Name, index=True)
    gift_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModerationAction(Base):
    __tablename__ = "moderation_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(Name, index=True)
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(Name, index=True)
    room: Mapped[str | None] = mapped_column(Name)
    reason: Mapped[str | None] = mapped_column(Text)
    duration_secs: Mapped[float | None] = mapped_column(Double)
    detail: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ModelLabel(Base):
    __tablename__ = "model_labels"
    __table_args__ = (
        CheckConstraint("source IN ('approve', 'delete', 'timeout', 'mark')", name="source"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    room: Mapped[str | None] = mapped_column(Name)
    text: Mapped[str] = mapped_column(Text)
    toxic: Mapped[bool] = mapped_column(Boolean)
    categories: Mapped[list[str]] = mapped_column(Json)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(Name)
    model_toxic: Mapped[bool | None] = mapped_column(Boolean)
    model_score: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

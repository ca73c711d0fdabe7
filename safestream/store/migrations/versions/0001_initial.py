"""Initial schema: users, rooms, messages, gifts, moderation_actions.

Written from an autogenerate draft, then reviewed by hand. Self-contained on purpose:
it does not import the app's models, which will change after it.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    # BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _utc(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _utc("created_at"),
        _utc("banned_until", nullable=True),
        sa.Column("ban_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("role IN ('viewer', 'moderator', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "rooms",
        _id(),
        sa.Column("name", sa.String(length=64), nullable=False),
        _utc("created_at"),
        sa.Column("policy", _json(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("name", name=op.f("uq_rooms_name")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("toxic", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("scores", _json(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("delivered_text", sa.Text(), nullable=True),
        sa.Column("triggers", _json(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        _utc("created_at"),
        sa.CheckConstraint(
            "status IN ('visible', 'held', 'rejected', 'deleted', 'blocked')",
            name=op.f("ck_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["room"], ["rooms.name"], name=op.f("fk_messages_room_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        # Also the index behind history reads: WHERE room = ? ORDER BY seq.
        sa.UniqueConstraint("room", "seq", name=op.f("uq_messages_room_seq")),
    )
    # The review queue: WHERE status = 'held' [AND room = ?] ORDER BY seq.
    op.create_index("ix_messages_status_room_seq", "messages", ["status", "room", "seq"])
    op.create_index("ix_messages_ts", "messages", ["ts"])
    op.create_index(op.f("ix_messages_username"), "messages", ["username"])
    op.create_table(
        "gifts",
        _id(),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("from_user", sa.String(length=64), nullable=False),
        sa.Column("gift_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(
            ["room"], ["rooms.name"], name=op.f("fk_gifts_room_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gifts")),
    )
    op.create_index(op.f("ix_gifts_from_user"), "gifts", ["from_user"])
    op.create_index(op.f("ix_gifts_room"), "gifts", ["room"])
    op.create_table(
        "moderation_actions",
        _id(),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("room", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("duration_secs", sa.Double(), nullable=True),
        sa.Column("detail", _json(), nullable=True),
        _utc("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_actions")),
    )
    op.create_index(op.f("ix_moderation_actions_actor"), "moderation_actions", ["actor"])
    op.create_index(op.f("ix_moderation_actions_created_at"), "moderation_actions", ["created_at"])
    op.create_index(op.f("ix_moderation_actions_target"), "moderation_actions", ["target"])


def downgrade() -> None:
    op.drop_table("moderation_actions")
    op.drop_table("gifts")
    op.drop_table("messages")
    op.drop_table("rooms")
    op.drop_table("users")

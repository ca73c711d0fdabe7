"""Policy history, shadow policies and the "why" of each decision.

- `policy_versions`: every policy a room has had (rollback, replay of a stored version,
  the rule text of old decisions). Rooms that already have a stored policy get their
  current one as the first row.
- `room_shadows`: candidate policies attached in shadow mode, with who attached them and
  how they ended (promoted, dropped, replaced).
- `messages.why` (the decision's rule, flagged categories, blocked terms, driving words),
  `messages.shadow_action` and `messages.shadow_id` (what the shadow would have done).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _utc(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("why", _json(), nullable=True))
        batch.add_column(sa.Column("shadow_action", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("shadow_id", sa.BigInteger(), nullable=True))
    # Shadow tallies: WHERE shadow_id = ? [GROUP BY action, shadow_action].
    op.create_index("ix_messages_shadow_id", "messages", ["shadow_id"])
    versions = op.create_table(
        "policy_versions",
        _id(),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", _json(), nullable=False),
        _utc("created_at"),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["room"], ["rooms.name"], name=op.f("fk_policy_versions_room_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("room", "version", name=op.f("uq_policy_versions_room_version")),
    )
    op.create_table(
        "room_shadows",
        _id(),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("policy", _json(), nullable=False),
        sa.Column("attached_by", sa.String(length=64), nullable=False),
        _utc("attached_at"),
        _utc("detached_at", nullable=True),
        sa.Column("detached_by", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["room"], ["rooms.name"], name=op.f("fk_room_shadows_room_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_shadows")),
    )
    op.create_index(op.f("ix_room_shadows_room"), "room_shadows", ["room"])
    rooms = sa.table(
        "rooms",
        sa.column("name", sa.String()),
        sa.column("policy", _json()),
        sa.column("policy_version", sa.Integer()),
    )
    stored = op.get_bind().execute(
        sa.select(rooms.c.name, rooms.c.policy, rooms.c.policy_version).where(
            rooms.c.policy.is_not(None)
        )
    )
    now = datetime.now(UTC)
    rows = [
        {
            "room": name,
            "version": version,
            "policy": policy,
            "created_at": now,
            "created_by": None,
            "source": "stored before history",
        }
        for name, policy, version in stored
    ]
    if rows:
        op.bulk_insert(versions, rows)


def downgrade() -> None:
    op.drop_table("room_shadows")
    op.drop_table("policy_versions")
    op.drop_index("ix_messages_shadow_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("shadow_id")
        batch.drop_column("shadow_action")
        batch.drop_column("why")

"""Moderator labels for the model: each decision that says the model was wrong.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "model_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("room", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("toxic", sa.Boolean(), nullable=False),
        sa.Column("categories", json, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("model_toxic", sa.Boolean(), nullable=True),
        sa.Column("model_score", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('approve', 'delete', 'timeout', 'mark')",
            name=op.f("ck_model_labels_source"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_labels")),
        sa.UniqueConstraint("message_id", name=op.f("uq_model_labels_message_id")),
    )
    op.create_index(op.f("ix_model_labels_created_at"), "model_labels", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_model_labels_created_at"), table_name="model_labels")
    op.drop_table("model_labels")

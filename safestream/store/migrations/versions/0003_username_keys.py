"""Users get `name_key`, what their name looks like, so look-alikes cannot register.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(name: str) -> str:
    # A copy of accounts.auth.username_key as of this revision (migrations stay fixed).
    key = name.lower()
    for sequence, letter in (("rn", "m"), ("vv", "w"), ("cl", "d")):
        key = key.replace(sequence, letter)
    return key.translate(str.maketrans("01l|5$", "oiiiss", "._-"))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name_key", sa.String(64), nullable=True))
        batch.create_index("ix_users_name_key", ["name_key"])
    users = sa.table("users", sa.column("id", sa.BigInteger), sa.column("username", sa.String))
    keys = sa.table("users", sa.column("id", sa.BigInteger), sa.column("name_key", sa.String))
    connection = op.get_bind()
    for user_id, username in connection.execute(sa.select(users.c.id, users.c.username)):
        connection.execute(
            sa.update(keys).where(keys.c.id == user_id).values(name_key=_key(username))
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_name_key")
        batch.drop_column("name_key")

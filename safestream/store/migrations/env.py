"""Alembic environment for SafeStream, driven from code by ``safestream.store.engine``.

:func:`safestream.store.engine.upgrade` puts an open connection in
``config.attributes["connection"]``; the migrations run on it, inside the caller's
transaction. Without one (Alembic commands run by hand with
:func:`safestream.store.engine.alembic_config` given an engine) an engine is made from
``sqlalchemy.url``. Offline (``--sql``) mode is supported for reviewing DDL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from safestream.store.engine import make_engine
from safestream.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url in the Alembic config")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

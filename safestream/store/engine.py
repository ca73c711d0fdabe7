"""Engines, schema migrations and sessions.

Example::

    engine = make_engine(settings.database_url)   # sqlite:///data/safestream.db
    upgrade(engine)                               # Alembic migrations to head
    sessions = session_factory(engine)
    with sessions.begin() as s:                   # commits, or rolls back on error
        repo.create_user(s, "alice", None, hashed)

Everything here blocks. The app calls it through ``trio.to_thread.run_sync`` under a
``CapacityLimiter``; a :class:`~sqlalchemy.orm.Session` belongs to one thread at a
time, so open one per worker call (the engine and the factory are thread-safe).

SQLite connections get WAL journalling, ``synchronous=NORMAL``, foreign keys and a busy
timeout, so readers never block the single writer and a second writer waits instead
of failing with ``database is locked``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "alembic_config",
    "make_engine",
    "normalize_url",
    "session_factory",
    "upgrade",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
# Package data; wheels install unzipped, so Alembic gets a plain directory.
MIGRATIONS_DIR = Path(str(resources.files("safestream.store") / "migrations"))
# Arbitrary constant key: serialises concurrent upgrades from several nodes.
_PG_MIGRATION_LOCK = 0x5AFE57EA


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pick the driver SafeStream uses.

    ``postgres://`` and ``postgresql://`` (as Heroku-style ``DATABASE_URL`` values
    are written) become ``postgresql+psycopg://`` (psycopg 3); an explicit driver is
    kept. SQLite URLs are returned unchanged.

    Raises:
        ValueError: the URL is neither SQLite nor PostgreSQL.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if parsed.drivername in ("postgres", "postgresql"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif backend == "postgres":
            parsed = parsed.set(drivername="postgresql+" + parsed.get_driver_name())
        return parsed
    if backend == "sqlite":
        return parsed
    raise ValueError(f"unsupported database URL {parsed!r}: use sqlite:/// or postgresql://")


def _sqlite_is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, ConnectionPoolEntry], None]:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return on_connect


def make_engine(
    url: str | URL,
    *,
    echo: bool = False,
    statement_timeout_ms: int = 0,
    pool_size: int | None = None,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    **kwargs: Any,
) -> Engine:
    """Create the engine for ``url`` (SQLite file or memory, or PostgreSQL).

    For a SQLite file the parent directory is created (``sqlite:///data/x.db`` works on
    a fresh checkout; ``sqlite:///./safestream.db`` as the original wrote it works too).
    In-memory SQLite uses one shared connection so every thread sees the same data.

    Args:
        url: database URL; see :func:`normalize_url`.
        echo: log SQL statements.
        statement_timeout_ms: PostgreSQL's ``statement_timeout`` for every connection (0:
            the server's default).
        pool_size: PostgreSQL connections kept open (no overflow beyond it: the app runs
            at most that many sessions at once, one per database worker thread).
        sqlite_busy_timeout_ms: how long a SQLite statement waits for a lock held by
            another connection before failing with ``database is locked``.
        **kwargs: passed on to :func:`sqlalchemy.create_engine` (e.g. ``pool_size``).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        options: dict[str, Any] = {}
        if _sqlite_is_memory(parsed):
            options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        elif parsed.database and parsed.query.get("uri") != "true":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, **{**options, **kwargs})
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_busy_timeout_ms))
        return engine
    if pool_size is not None:
        kwargs = {"pool_size": pool_size, "max_overflow": 0, **kwargs}
    engine = create_engine(parsed, echo=echo, pool_pre_ping=True, **kwargs)
    if statement_timeout_ms:
        event.listen(engine, "connect", partial(_on_postgres_connect, statement_timeout_ms))
    return engine


def _on_postgres_connect(statement_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    """Bound every statement, so a stuck query frees its worker thread (and the writer
    answers its askers) instead of holding them."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
    cursor.close()
    dbapi_connection.commit()


def alembic_config(engine: Engine | None = None) -> Config:
    """Build the Alembic configuration in code (no ``alembic.ini`` needed).

    With ``engine`` the URL is set too, so Alembic commands such as ``revision
    --autogenerate`` can be run from a shell::

        python -c "from alembic import command; from safestream.store import engine as db; \
            command.revision(db.alembic_config(db.make_engine(URL)), 'msg', autogenerate=True)"
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` in one transaction.

    Safe to call on every start-up: an up-to-date database is left alone. On
    PostgreSQL an advisory lock makes nodes starting together take turns.
    """
    cfg = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)

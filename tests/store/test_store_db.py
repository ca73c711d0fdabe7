"""Engines, URLs and migrations."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
import trio
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from safestream import store
from safestream.store.models import Base

TABLES = {
    "users",
    "rooms",
    "messages",
    "gifts",
    "moderation_actions",
    "model_labels",
    "policy_versions",
    "room_shadows",
}


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_creates_all_tables_on_empty_db_and_is_idempotent(empty_db_url: str) -> None:
    engine = store.make_engine(empty_db_url)
    try:
        assert _tables(engine) == set()
        store.upgrade(engine)
        assert _tables(engine) == TABLES | {"alembic_version"}
        store.upgrade(engine)  # second run: nothing to do, no error
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        head = ScriptDirectory.from_config(store.engine.alembic_config()).get_current_head()
        assert head is not None and versions == [(head,)]
    finally:
        engine.dispose()


def test_migrated_schema_matches_models(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_sqlite_engine_enables_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path}/wal.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == (
                store.engine.SQLITE_BUSY_TIMEOUT_MS
            )
    finally:
        engine.dispose()


def test_the_sqlite_busy_timeout_is_a_setting(tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path}/busy.db", sqlite_busy_timeout_ms=250)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(sessions: sa.orm.sessionmaker[sa.orm.Session]) -> None:
    with sessions() as s, pytest.raises(sa.exc.IntegrityError):
        s.execute(
            sa.text(
                "INSERT INTO gifts (room, from_user, gift_id, amount, ts, created_at) "
                "VALUES ('nowhere', 'bob', 1, 5, 0, CURRENT_TIMESTAMP)"
            )
        )
        s.flush()


def test_sqlite_relative_urls_create_parent_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for url, path in [
        ("sqlite:///data/x.db", tmp_path / "data" / "x.db"),
        ("sqlite:///./safestream.db", tmp_path / "safestream.db"),
    ]:
        engine = store.make_engine(url)
        try:
            store.upgrade(engine)
        finally:
            engine.dispose()
        assert path.is_file()


def test_sqlite_memory_database_is_shared_between_threads() -> None:
    engine = store.make_engine("sqlite://")
    try:
        store.upgrade(engine)
        sessions = store.session_factory(engine)
        with sessions.begin() as s:
            store.create_user(s, "alice", None, "h")

        def read() -> store.UserRecord | None:
            with sessions() as s:
                return store.get_user(s, "alice")

        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(read).result() is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("postgresql://u@db/app?sslmode=require", "postgresql+psycopg://u@db/app?sslmode=require"),
        ("sqlite:///./safestream.db", "sqlite:///./safestream.db"),
    ],
)
def test_normalize_url_uses_psycopg3_for_postgres(given: str, expected: str) -> None:
    assert store.normalize_url(given).render_as_string(hide_password=False) == expected


def test_make_engine_translates_postgres_scheme_without_connecting() -> None:
    engine = store.make_engine("postgres://u@127.0.0.1:1/app")
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_normalize_url_rejects_other_databases() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        store.normalize_url("mysql://u@db/app")


async def test_concurrent_writer_threads_share_the_database(
    sessions: sa.orm.sessionmaker[sa.orm.Session],
) -> None:
    """The app's pattern: several worker threads under a limiter, one session each."""
    limiter = trio.CapacityLimiter(4)

    def write(n: int) -> None:
        rows = [
            store.GiftRow(room="main", from_user=f"u{n}", gift_id=1, amount=1, ts=1.0)
            for _ in range(25)
        ]
        with sessions.begin() as s:
            store.insert_batch(s, [], rows, [])

    async def one(n: int) -> None:
        await trio.to_thread.run_sync(write, n, limiter=limiter)

    async with trio.open_nursery() as nursery:
        for n in range(8):
            nursery.start_soon(one, n)
    with sessions() as s:
        assert store.gift_count(s) == 200


@pytest.mark.postgres
def test_postgres_statement_timeout_cancels_a_stuck_query(postgres_admin: sa.Engine) -> None:
    engine = store.make_engine(
        postgres_admin.url.render_as_string(hide_password=False),
        statement_timeout_ms=200,
        pool_size=1,
    )
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "200ms"
            with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
                conn.execute(sa.text("SELECT pg_sleep(2)"))
        assert engine.pool.size() == 1
    finally:
        engine.dispose()

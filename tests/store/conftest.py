"""Fixtures for the store tests: every test runs against SQLite and PostgreSQL.

PostgreSQL comes from ``SAFESTREAM_TEST_POSTGRES_URL`` (default: the local server,
database ``test``). Each test gets its own schema ``safestream_test_<random>``, set
as ``search_path`` through the connection options and dropped afterwards, so tests
can run alongside the app (or another test run) using the same database.

When PostgreSQL cannot be reached the PostgreSQL half is skipped with the reason,
except under ``CI=true``, where it fails: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from safestream import store

POSTGRES_URL = os.environ.get(
    "SAFESTREAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    """An engine on the PostgreSQL test database (public schema), or skip/fail."""
    engine = sa.create_engine(
        store.normalize_url(POSTGRES_URL),
        connect_args={"connect_timeout": 3},
        poolclass=sa.NullPool,
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}"
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


def _schema_url(schema: str) -> str:
    url = store.normalize_url(POSTGRES_URL).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of an empty database: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        # A "data/" directory that does not exist yet: make_engine must create it.
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/data/safestream.db"
        return
    admin: sa.Engine = request.getfixturevalue("postgres_admin")
    schema = f"safestream_test_{secrets.token_hex(6)}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[sa.Engine]:
    """A migrated database; disposed before its schema is dropped."""
    eng = store.make_engine(empty_db_url)
    store.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: sa.Engine) -> sessionmaker[Session]:
    return store.session_factory(engine)

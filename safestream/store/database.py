"""Blocking SQLAlchemy work, run in worker threads under one named CapacityLimiter.

The event loop never touches a session: `await db.run(repo.get_user, "ann")` opens a
session in a worker thread, calls the function with it, commits, and returns the result.

Example:
    db = Database("sqlite:///data/safestream.db", threads=4)
    db.upgrade()
    user = await db.run(repo.get_user, "demo_user")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import trio

from safestream.store.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    make_engine,
    session_factory,
    upgrade,
)

__all__ = ["Database"]

T = TypeVar("T")


class Database:
    """An engine, its session factory and the limiter its worker threads run under."""

    def __init__(
        self,
        url: str,
        *,
        threads: int,
        statement_timeout_ms: int = 0,
        sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    ) -> None:
        self.url = url
        # One pooled connection per worker thread: never more sessions than threads.
        self.engine = make_engine(
            url,
            statement_timeout_ms=statement_timeout_ms,
            pool_size=max(1, threads),
            sqlite_busy_timeout_ms=sqlite_busy_timeout_ms,
        )
        self._sessions = session_factory(self.engine)
        self.limiter = trio.CapacityLimiter(max(1, threads))

    def upgrade(self) -> None:
        """Apply the migrations to head (blocking; call before serving)."""
        upgrade(self.engine)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Call `fn(session, *args)` in a fresh session and commit it (blocking)."""
        with self._sessions() as session:
            result = fn(session, *args)
            session.commit()
            return result

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`run_sync` in a worker thread. Cancellation abandons the wait, not the work."""
        return await trio.to_thread.run_sync(self.run_sync, fn, *args, limiter=self.limiter)

    def dispose(self) -> None:
        self.engine.dispose()

"""SanctionsSync: the actor that keeps a node's mutes and bans in step with the database.

A moderator's mute, unmute, ban or unban is stored, then announced to the other nodes on
the broker (`cluster/agent.py`). The announcement is best-effort: a node killed between
its answer and its broadcast leaves the others with the old state. Every
`SANCTIONS_SYNC_SECS` this actor reads the stored sanctions and reconciles the node's
in-memory view with them (`Sanctions.reconcile`), so a lost broadcast holds everywhere
within about two intervals. A policy timeout whose write failed is kept meanwhile and
written again here each interval until it is stored. Only nodes with a real broker run
it: one node's memory is the store's by construction. A failed read is counted and tried
again next interval.

Example:
    ChildSpec(name="sanctions", factory=lambda: SanctionsSync(db, sanctions, interval=10.0))
    await read_stored_sanctions(db, sanctions)        # once, at start-up
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import trio
from sqlalchemy.exc import SQLAlchemyError

from actors import Actor
from safestream.chat.sanctions import Sanctions
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.errors import UserNotFound

__all__ = ["SanctionsSync", "read_stored_sanctions"]


async def read_stored_sanctions(db: Database, sanctions: Sanctions) -> int:
    """Reconcile `sanctions` with the mutes and bans stored and still running; returns
    how many entries changed."""
    now = datetime.fromtimestamp(sanctions.now(), UTC)
    mutes: dict[str, float] = {}
    bans: dict[str, float] = {}
    for user in await db.run(repo.active_sanctions, now):
        if user.muted_until is not None and user.muted_until > now:
            mutes[user.username] = user.muted_until.timestamp()
        if user.banned_until is not None and user.banned_until > now:
            bans[user.username] = user.banned_until.timestamp()
    return sanctions.reconcile(mutes, bans)


class SanctionsSync(Actor):
    """Reads the stored sanctions every `interval` seconds. Restart type PERMANENT."""

    kind = "sanctions_sync"

    def __init__(self, db: Database, sanctions: Sanctions, *, interval: float) -> None:
        self._db = db
        self._sanctions = sanctions
        self._interval = interval
        self._runs = 0
        self._changed = 0
        self._failures = 0
        self._written = 0

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._sync_forever)
            await super().run()
            nursery.cancel_scope.cancel()

    async def _sync_forever(self) -> None:
        while True:
            await trio.sleep(self._interval)
            try:
                await self._write_unstored()
                self._changed += await read_stored_sanctions(self._db, self._sanctions)
            except SQLAlchemyError:
                self._failures += 1  # the database is away: next interval
            self._runs += 1

    async def _write_unstored(self) -> None:
        """Write the running mutes whose first write failed (policy timeouts)."""
        for user, until in self._sanctions.unstored_mutes().items():
            try:
                await self._db.run(repo.set_mute, user, datetime.fromtimestamp(until, UTC))
            except UserNotFound:
                continue  # no account to store it with: it runs its length here
            self._sanctions.stored(user, until)
            self._written += 1

    def introspect(self) -> dict[str, Any]:
        return {
            "interval_secs": self._interval,
            "runs": self._runs,
            "changed": self._changed,
            "written": self._written,
            "failures": self._failures,
        }

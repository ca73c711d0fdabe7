"""SanctionsSync: a node re-reads the stored mutes and bans, so a moderator's action
whose broadcast was lost (its node died) still holds on every node; only with a broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import trio
import trio.testing
from appkit import InlineDatabase, node_settings
from sqlalchemy.exc import OperationalError

from actors import ActorSystem, ChildSpec, Supervisor
from safestream.chat.sanctions import Sanctions
from safestream.cluster.sanctions_sync import SanctionsSync
from safestream.moderation.classifiers import KeywordClassifier
from safestream.node import NodeParts, build_tree
from safestream.store import repo

NOW = 1_000_000.0  # epoch seconds at the start of each test (plus the mock clock)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass
class Synced:
    db: InlineDatabase
    sanctions: Sanctions
    sync: SanctionsSync


@asynccontextmanager
async def synced(tmp_path: Path, *users: str) -> AsyncIterator[Synced]:
    """A SanctionsSync every 10 s (first at 10 s) on a fresh database with `users`."""
    db = InlineDatabase(f"sqlite:///{tmp_path}/sync.db", threads=1)
    db.upgrade()
    for name in users:
        db.run_sync(repo.create_user, name, None, "x", "viewer")
    sanctions = Sanctions(clock=lambda: NOW + trio.current_time())
    sync = SanctionsSync(db, sanctions, interval=10.0)
    root = Supervisor([ChildSpec(name="sanctions", factory=lambda: sync)])
    try:
        async with ActorSystem.open(root, name="t"):
            yield Synced(db, sanctions, sync)
    finally:
        db.dispose()


async def test_a_mute_and_an_unmute_stored_elsewhere_hold_here_within_two_intervals(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with synced(tmp_path, "ann", "bob") as node:
        db, sanctions = node.db, node.sanctions
        # Another node muted ann and banned bob, stored it, and died before announcing.
        db.run_sync(repo.set_mute, "ann", at(NOW + 600))
        db.run_sync(repo.set_ban, "bob", at(NOW + 900), "spam")
        await trio.sleep(10.5)
        assert sanctions.muted_for("ann") > 0 and sanctions.banned("bob")
        # Then it lifted both; the announcements were lost again.
        db.run_sync(repo.set_mute, "ann", None)
        db.run_sync(repo.set_ban, "bob", None)
        await trio.sleep(10.0)
        assert sanctions.muted_for("ann") > 0  # one interval: could be a fresh timeout
        await trio.sleep(10.0)
        assert sanctions.muted_for("ann") == 0.0 and not sanctions.banned("bob")
        assert node.sync.introspect()["changed"] == 4


async def test_a_database_outage_is_counted_and_the_next_interval_tries_again(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with synced(tmp_path, "ann") as node:
        real_run = node.db.run
        down = True

        async def flaky_run(fn, *args):  # type: ignore[no-untyped-def]
            if down:
                raise OperationalError("select", {}, Exception("database is away"))
            return await real_run(fn, *args)

        node.db.run = flaky_run  # type: ignore[method-assign]
        node.db.run_sync(repo.set_mute, "ann", at(NOW + 600))
        await trio.sleep(10.5)
        assert node.sync.introspect()["failures"] == 1
        assert node.sanctions.muted_for("ann") == 0.0
        down = False
        await trio.sleep(10.0)
        assert node.sanctions.muted_for("ann") > 0


def test_only_a_node_with_a_real_broker_runs_the_sync(tmp_path: Path) -> None:
    for url, expected in (("memory://", False), ("redis://127.0.0.1:6379/0", True)):
        settings = node_settings(tmp_path, broker_url=url)
        tree = build_tree(NodeParts.create(settings, KeywordClassifier()))
        assert ("sanctions" in [spec.name for spec in tree.specs]) is expected


async def test_a_timeout_whose_write_failed_is_kept_and_written_at_the_next_interval(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with synced(tmp_path, "ann") as node:
        sanctions = node.sanctions
        # The room applied two policy timeouts and could not write them: the database
        # hiccuped for ann; ghost has no account to store it with.
        until = sanctions.mute("ann", 300)
        sanctions.not_stored("ann")
        sanctions.mute("ghost", 300)
        sanctions.not_stored("ghost")
        await trio.sleep(10.5)
        users = node.db.run_sync(repo.active_sanctions, at(NOW))
        [stored] = [u for u in users if u.username == "ann"]
        assert stored.muted_until is not None and stored.muted_until.timestamp() == until
        assert node.sync.introspect()["written"] == 1
        await trio.sleep(60)  # six more reconciles: neither timeout is lifted
        assert sanctions.muted_for("ann") > 0 and sanctions.muted_for("ghost") > 0
        await trio.sleep(240)
        assert sanctions.muted_for("ann") == 0.0 and sanctions.muted_for("ghost") == 0.0
        assert sanctions.unstored_mutes() == {}

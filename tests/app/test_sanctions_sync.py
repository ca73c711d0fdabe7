"""SanctionsSync: a node re-reads the stored mutes and bans, so a moderator's action
whose broadcast was lost (its node died) still holds on every node; only with a broker."""

from __future__ import annotations

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


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def test_a_mute_and_an_unmute_stored_elsewhere_hold_here_within_two_intervals(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    db = InlineDatabase(f"sqlite:///{tmp_path}/sync.db", threads=1)
    db.upgrade()
    for name in ("ann", "bob"):
        db.run_sync(repo.create_user, name, None, "x", "viewer")
    now = 1_000_000.0
    sanctions = Sanctions(clock=lambda: now + trio.current_time())
    sync = SanctionsSync(db, sanctions, interval=10.0)
    root = Supervisor([ChildSpec(name="sanctions", factory=lambda: sync)])
    async with ActorSystem.open(root, name="t"):
        # Another node muted ann and banned bob, stored it, and died before announcing.
        db.run_sync(repo.set_mute, "ann", at(now + 600))
        db.run_sync(repo.set_ban, "bob", at(now + 900), "spam")
        await trio.sleep(10.5)
        assert sanctions.muted_for("ann") > 0 and sanctions.banned("bob")
        # Then it lifted both; the announcements were lost again.
        db.run_sync(repo.set_mute, "ann", None)
        db.run_sync(repo.set_ban, "bob", None)
        await trio.sleep(10.0)
        assert sanctions.muted_for("ann") > 0  # one interval: could be a fresh timeout
        await trio.sleep(10.0)
        assert sanctions.muted_for("ann") == 0.0 and not sanctions.banned("bob")
        assert sync.introspect()["changed"] == 4
    db.dispose()


async def test_a_database_outage_is_counted_and_the_next_interval_tries_again(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    db = InlineDatabase(f"sqlite:///{tmp_path}/sync.db", threads=1)
    db.upgrade()
    db.run_sync(repo.create_user, "ann", None, "x", "viewer")
    real_run = db.run
    down = True

    async def flaky_run(fn, *args):  # type: ignore[no-untyped-def]
        if down:
            raise OperationalError("select", {}, Exception("database is away"))
        return await real_run(fn, *args)

    db.run = flaky_run  # type: ignore[method-assign]
    sanctions = Sanctions(clock=lambda: 1_000_000.0 + trio.current_time())
    sync = SanctionsSync(db, sanctions, interval=10.0)
    root = Supervisor([ChildSpec(name="sanctions", factory=lambda: sync)])
    async with ActorSystem.open(root, name="t"):
        db.run_sync(repo.set_mute, "ann", at(1_000_000.0 + 600))
        await trio.sleep(10.5)
        assert sync.introspect()["failures"] == 1 and sanctions.muted_for("ann") == 0.0
        down = False
        await trio.sleep(10.0)
        assert sanctions.muted_for("ann") > 0
    db.dispose()


def test_only_a_node_with_a_real_broker_runs_the_sync(tmp_path: Path) -> None:
    for url, expected in (("memory://", False), ("redis://127.0.0.1:6379/0", True)):
        settings = node_settings(tmp_path, broker_url=url)
        tree = build_tree(NodeParts.create(settings, KeywordClassifier()))
        assert ("sanctions" in [spec.name for spec in tree.specs]) is expected


async def test_a_timeout_whose_write_failed_is_kept_and_written_at_the_next_interval(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    db = InlineDatabase(f"sqlite:///{tmp_path}/sync.db", threads=1)
    db.upgrade()
    db.run_sync(repo.create_user, "ann", None, "x", "viewer")
    now = 1_000_000.0
    sanctions = Sanctions(clock=lambda: now + trio.current_time())
    # The room applied two policy timeouts and could not write them: the database
    # hiccuped for ann; ghost has no account to store it with.
    until = sanctions.mute("ann", 300)
    sanctions.not_stored("ann")
    sanctions.mute("ghost", 300)
    sanctions.not_stored("ghost")
    sync = SanctionsSync(db, sanctions, interval=10.0)
    root = Supervisor([ChildSpec(name="sanctions", factory=lambda: sync)])
    async with ActorSystem.open(root, name="t"):
        await trio.sleep(10.5)
        [stored] = [u for u in db.run_sync(repo.active_sanctions, at(now)) if u.username == "ann"]
        assert stored.muted_until is not None and stored.muted_until.timestamp() == until
        assert sync.introspect()["written"] == 1
        await trio.sleep(60)  # six more reconciles: neither timeout is lifted
        assert sanctions.muted_for("ann") > 0 and sanctions.muted_for("ghost") > 0
        await trio.sleep(240)
        assert sanctions.muted_for("ann") == 0.0 and sanctions.muted_for("ghost") == 0.0
        assert sanctions.unstored_mutes() == {}
    db.dispose()

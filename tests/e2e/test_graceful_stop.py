"""SIGTERM under traffic: the node drains within DRAIN_BOUND_SECS and exits 0.

New chat sockets are refused (no TCP, or closed with 1001 before joining), every viewer
is closed with 1001 and a reason that says to reconnect with `?since=`, and every
message the room accepted is committed: after a restart it is in the history, even
those that were still waiting for the database when the signal came and so were never
echoed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import trio
from chaoskit import DatabaseLock, Node, probe, running_node, wait_for_check, wait_until
from chatpeers import Peer, chatting_peers, check_recovery

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SENDERS = ("drain_ann", "drain_bob", "drain_cid")
DRAIN_BOUND_SECS = 15.0


async def room_seq(node: Node, room: str = "main") -> int:
    """The room's last accepted seq, as `/api/rooms` shows it."""
    rooms = (await node.request("GET", "/api/rooms")).json()["rooms"]
    return int(next(r["seq"] for r in rooms if r["name"] == room))


async def test_sigterm_under_traffic_drains_commits_and_exits_0(tmp_path: Path) -> None:
    # Writes wait for the test's lock instead of failing, however busy the machine is.
    env = {"MESSAGES_PER_SECOND": "50", "MESSAGE_BURST": "50", "SQLITE_BUSY_TIMEOUT_MS": "20000"}
    async with running_node(tmp_path, **env) as node, trio.open_nursery() as nursery:
        await node.register("drain_late")
        watcher = Peer(node, "drain_watch", await node.register("drain_watch"))
        nursery.start_soon(watcher.run)
        peers = await chatting_peers(nursery, node, SENDERS, send_every=0.05)
        await wait_until(lambda: all(len(p.acked) >= 10 for p in peers), what="10 echoes each")

        # Writes now wait for the lock: the room keeps accepting (stamping) messages that
        # are not stored, so not echoed, when the signal comes.
        lock = DatabaseLock(tmp_path / "e2e.db")
        await lock.hold()
        echoed = max(watcher.seen)
        accepted = 0

        async def accepted_unstored() -> bool:
            nonlocal accepted
            accepted = await room_seq(node)
            return accepted >= echoed + 20

        await wait_for_check(accepted_unstored, what="messages accepted but not stored")

        process = node.app.process
        assert process is not None
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        everyone = [*peers, watcher]
        await wait_until(
            lambda: all(p.closes for p in everyone), what="every viewer closed", secs=10
        )
        late = await probe(node, "drain_late")
        await lock.release()
        code = await trio.to_thread.run_sync(process.wait, DRAIN_BOUND_SECS)
        took = time.monotonic() - started

        assert code == 0
        assert took < DRAIN_BOUND_SECS
        assert late in ("refused", "closed 1001"), late
        for peer in everyone:
            close_code, reason = peer.closes[0]
            assert close_code == 1001, peer.closes
            assert "reconnect with ?since=" in (reason or ""), reason

        await trio.to_thread.run_sync(node.app.start)
        await wait_until(
            lambda: all(p.sessions >= 2 and p.seen and max(p.seen) >= accepted for p in everyone),
            what="every viewer recovered what the drain committed",
        )
        for peer in everyone:
            peer.stop()
        history = await node.history("main")
        assert {m["seq"] for m in history} >= set(range(1, accepted + 1))
        check_recovery(everyone, history)

"""kill -9 under traffic: a node killed mid-chat and restarted on the same port and
database has every acknowledged message, and viewers recover with `?since=`.

The echo is the acknowledgement (docs/protocol.md): a message is echoed only after it
is stored, so whatever a sender saw echoed before the SIGKILL must be in the room after
the restart, once, at the seq it was echoed with.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from chaoskit import Node, running_node, wait_until
from chatpeers import Peer, chatting_peers, check_recovery

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

SENDERS = ("kill_ann", "kill_bob", "kill_cid", "kill_dee")


async def test_kill_9_under_traffic_loses_no_acknowledged_message(tmp_path: Path) -> None:
    fast = {"MESSAGES_PER_SECOND": "50", "MESSAGE_BURST": "50"}
    async with running_node(tmp_path, **fast) as node, trio.open_nursery() as nursery:
        muted, banned = await node.register("kill_muted"), await node.register("kill_banned")
        peers = await chatting_peers(nursery, node, SENDERS, send_every=0.04)
        mute = {"username": "kill_muted", "duration_secs": 600}
        await node.admin("POST", "/api/admin/mute", mute)
        await node.admin("POST", "/api/admin/ban", {"username": "kill_banned", "reason": "x"})
        await wait_until(
            lambda: all(len(p.acked) >= 40 for p in peers), what="40 echoes for each sender"
        )

        node.app.process.kill()  # type: ignore[union-attr]
        await trio.to_thread.run_sync(node.app.process.wait)  # type: ignore[union-attr]
        acked_before_kill = {p.user: dict(p.acked) for p in peers}
        await trio.to_thread.run_sync(node.app.start)  # same port, same database

        await wait_until(
            lambda: all(
                p.sessions >= 2 and len(p.acked) >= len(acked_before_kill[p.user]) + 4
                for p in peers
            ),
            what="every sender reconnected and chatting again",
        )
        for peer in peers:
            peer.stop()

        history = await node.history("main")
        for peer in peers:
            assert acked_before_kill[peer.user].items() <= peer.acked.items()
            assert {code for code, _ in peer.closes} <= {1006}, peer.closes
        check_recovery(peers, history)
        seqs = [message["seq"] for message in history]
        assert seqs == list(range(1, len(seqs) + 1)), "stored messages have a seq gap"

        await _sanctions_still_hold(node, muted, banned, nursery)


async def _sanctions_still_hold(node: Node, muted: str, banned: str, nursery: trio.Nursery) -> None:
    """A mute and a ban made before the kill still hold after the restart."""
    quiet = Peer(node, "kill_muted", muted)
    nursery.start_soon(quiet.run)
    await wait_until(lambda: quiet.connected, what="the muted user connected")
    await quiet.say("am I still muted?")
    await wait_until(lambda: quiet.errors["muted"] == 1, what="a `muted` error")
    quiet.stop()

    gone = Peer(node, "kill_banned", banned)
    nursery.start_soon(gone.run)
    await wait_until(lambda: bool(gone.closes), what="the banned user's socket closed")
    assert gone.closes == [(4003, "you are banned")]
    assert not gone.seen

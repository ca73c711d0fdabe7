"""The model fails for a few seconds under traffic (`POST /api/admin/faults/model`):
a fail-closed room holds messages (authors and moderators get `held` frames), a fail-open
room delivers them marked `unscored`; afterwards scoring resumes; the node stays up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import trio
from chaoskit import Node, find_actor, running_node, wait_until
from chatpeers import Peer, chatting_peers, check_recovery, quiesce

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

FAULT_SECS = 6.0
WORKER = "/safestream/moderation/worker-0"


async def fail_open(node: Node, room: str) -> None:
    """Set `room`'s policy to fail-open (the node's default is fail-closed)."""
    policy = await node.request("GET", f"/api/admin/rooms/{room}/policy", user="test_streamer")
    await node.admin(
        "PUT", f"/api/admin/rooms/{room}/policy", {**policy.json(), "failure_mode": "open"}
    )


def own(peer: Peer, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["user"] == peer.user]


async def test_a_model_outage_holds_in_fail_closed_rooms_and_delivers_unscored_in_open_ones(
    tmp_path: Path,
) -> None:
    fast = {"MESSAGES_PER_SECOND": "20", "MESSAGE_BURST": "20"}
    async with running_node(tmp_path, **fast) as node, trio.open_nursery() as nursery:
        await fail_open(node, "open")
        moderator = Peer(node, "test_streamer", node.tokens["test_streamer"], room="main")
        nursery.start_soon(moderator.run)
        closed = await chatting_peers(nursery, node, ("held_ann", "held_bob"), send_every=0.1)
        opened = await chatting_peers(
            nursery, node, ("open_cid", "open_dee"), room="open", send_every=0.1
        )
        everyone = [*closed, *opened]
        await wait_until(lambda: all(len(p.acked) >= 3 for p in everyone), what="chat scored")
        assert all(c["action"] == "allow" for p in everyone for c in p.chats)

        answer = await node.admin("POST", "/api/admin/faults/model", {"seconds": FAULT_SECS})
        assert answer == {"status": "model failing", "seconds": FAULT_SECS}
        ends = time.monotonic() + FAULT_SECS
        await wait_until(
            lambda: all(len(own(p, p.held)) >= 2 for p in closed)
            and len([h for h in moderator.held if h["user"] != "test_streamer"]) >= 4
            and all(len([c for c in own(p, p.chats) if c["action"] == "unscored"]) >= 2
                    for p in opened),
            what="held frames in the fail-closed room and unscored chat in the open one",
            secs=FAULT_SECS,
        )  # fmt: skip
        assert await node.healthy()
        for held in (h for p in closed for h in p.held):
            assert held["reason"] == "unscored (closed)", held

        await wait_until(lambda: time.monotonic() >= ends, what="the end of the fault")
        scored = {p.user: len(p.chats) for p in everyone}
        await wait_until(
            lambda: all(any(c["action"] == "allow" for c in p.chats[scored[p.user]:])
                        for p in everyone),
            what="scoring resumed in both rooms",
        )  # fmt: skip
        await opened[0].say("what an idiot")
        await wait_until(lambda: "what an idiot" in opened[0].acked, what="a toxic echo")
        toxic = next(c for c in opened[0].chats if c["message"] == "what an idiot")
        assert toxic["toxic"] is True and toxic["score"] > 0.5, toxic

        await quiesce(everyone)
        for peer in [*everyone, moderator]:
            peer.stop()
            assert peer.closes == [], f"{peer.user}: {peer.closes}"
        worker = find_actor(await node.actors(), WORKER)
        assert (
            worker is not None and worker["restarts"] == 0
        )  # an outage is answered, not crashed on
        check_recovery(closed, await node.history("main"))
        check_recovery(opened, await node.history("open"))
        assert await node.healthy()

"""Crash each actor kind under traffic, through fault injection (`/api/admin/actors/crash`):
the node stays up, viewers keep chatting or are closed with a documented code and recover
with `?since=`, and no acknowledged message is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from chaoskit import Node, find_actor, running_node, wait_for_check, wait_until, walk
from chatpeers import FeedWatcher, Peer, chatting_peers, check_recovery, quiesce

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SENDERS = ("crash_ann", "crash_bob", "crash_cid")
ROOT = "/safestream"
RECOVERY_SECS = 8.0
# Each crash, and the close codes viewers may see because of it (docs/protocol.md).
CRASHES: list[tuple[str, frozenset[int]]] = [
    (f"{ROOT}/store", frozenset()),
    (f"{ROOT}/moderation/worker-0", frozenset()),
    (f"{ROOT}/rooms/room:main", frozenset({1012})),
    (f"{ROOT}/gifts", frozenset()),
    (f"{ROOT}/feed", frozenset()),
    (f"{ROOT}/rooms", frozenset({1012})),
    ("connection of crash_ann", frozenset({1011})),
]


async def test_crashing_each_actor_under_traffic_loses_no_acknowledged_message(
    tmp_path: Path,
) -> None:
    env = {
        "GIFT_INTERVAL_SECS": "0.3",
        "MESSAGES_PER_SECOND": "20",
        "MESSAGE_BURST": "20",
        # Long gathering windows, so a crash likely lands while a batch is being gathered.
        "STORE_FLUSH_MS": "50",
        "MODERATION_BATCH_WAIT_MS": "50",
    }
    async with running_node(tmp_path, **env) as node, trio.open_nursery() as nursery:
        feed = FeedWatcher(node)
        nursery.start_soon(feed.run)
        peers = await chatting_peers(nursery, node, SENDERS, send_every=0.1)
        for target, codes in CRASHES:
            closes_before = {p.user: len(p.closes) for p in peers}
            await _crash(node, target, peers)
            await _chatting_again(node, peers, target)
            if target.endswith("/gifts"):
                await _more(lambda: min(p.gifts for p in peers), "gifts shown again")
            if target.endswith("/feed"):
                await _more(lambda: feed.events["message"], "moderators' feed events again")
            for peer in peers:
                new = {code for code, _ in peer.closes[closes_before[peer.user] :]}
                assert new <= codes, f"{target}: {peer.user} was closed with {new}"
        await quiesce(peers)
        for peer in peers:
            peer.stop()
        feed.stop()
        check_recovery(peers, await node.history("main"))
        assert await node.healthy()


async def _crash(node: Node, target: str, peers: list[Peer]) -> None:
    """Crash `target` (a tree path, or a peer's connection) and wait for its restart."""
    tree = await node.actors()
    if target.startswith("connection of "):
        user = target.removeprefix("connection of ")
        path = next(n["path"] for n in walk(tree) if n.get("info", {}).get("user") == user)
    else:
        path = target
    before = find_actor(tree, path)
    assert before is not None and before["status"] == "running", f"{path} is not running"
    answer = await node.admin("POST", "/api/admin/actors/crash", {"path": path})
    assert answer == {"status": "crash sent", "path": path}

    async def restarted() -> bool:
        after = find_actor(await node.actors(), path)
        if target.startswith("connection of "):
            return after is None  # temporary: a crashed connection is not restarted
        return after is not None and after["status"] == "running" and _restarted(before, after)

    await wait_for_check(restarted, what=f"{path} restarted")
    assert await node.healthy()


def _restarted(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """A newer incarnation: more restarts, or (a room started again on demand) a new start."""
    return bool(after["restarts"] > before["restarts"] or after["uptime"] < before["uptime"])


async def _chatting_again(node: Node, peers: list[Peer], target: str) -> None:
    """Within RECOVERY_SECS: an ask left unanswered by a crash would stall a room's
    pipeline for the whole ask timeout (12 s) instead."""
    counts = {p.user: len(p.acked) for p in peers}
    await wait_until(
        lambda: all(p.connected and len(p.acked) >= counts[p.user] + 3 for p in peers),
        what=f"every sender chatting again after crashing {target}",
        secs=RECOVERY_SECS,
    )


async def _more(count: Callable[[], int], what: str) -> None:
    start = count()
    await wait_until(lambda: count() > start, what=what)

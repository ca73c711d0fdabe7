"""What-if work inside a node: re-scoring yields to live chat, the room stores each
message with its shadow decision and delivers by the active one, and a shadow attached
on one node decides on the room's owner."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import trio
from appkit import open_node
from servicekit import require_service

from safestream.cluster.agent import ClusterClient, Control
from safestream.moderation.background import BackgroundScorer
from safestream.moderation.policy import Band, RoomPolicy
from safestream.moderation.shadow import Shadow
from safestream.store import repo

MODEL_SECS_PER_TEXT = 0.01
HOLD_ALL = RoomPolicy(version=5, bands=(Band("any", 0.0, "hold"),))


async def slow_model(fn: Any, texts: Sequence[str], limiter: Any = None) -> Any:
    """Inline offload where the model takes 10 ms a text (on the mock clock)."""
    await trio.sleep(MODEL_SECS_PER_TEXT * len(texts))
    return fn(texts)


async def live_latency(tmp_path: Path, chunk: int) -> tuple[float, int]:
    """How long a live post waits for its chat frame while 2,000 texts are re-scored."""
    async with open_node(tmp_path, offload=slow_model, moderation_batch_wait_ms=0.0) as node:
        member = await node.join("ann")
        await member.frame("history")
        background = BackgroundScorer(
            node.parts.moderation_client(), chunk=chunk, limiter=node.parts.background
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(background.score, ["you idiot"] * 2000)
            await trio.sleep(1.0)  # the re-score is well under way
            started = trio.current_time()
            await member.post("hello")
            await member.frame("chat")
            latency = trio.current_time() - started
            nursery.cancel_scope.cancel()
        return latency, background.chunks


async def test_a_rescore_holds_a_live_post_back_by_one_small_chunk_at_most(
    tmp_path: Path, autojump_clock: Any
) -> None:
    chunk = 16
    latency, chunks = await live_latency(tmp_path, chunk)
    # The 2,000 texts take 20 s of model time; after a second of it, the post waits for
    # one chunk (0.16 s) and its own call at most.
    assert chunks >= 5
    assert latency <= MODEL_SECS_PER_TEXT * (chunk + 1) + 0.05


async def test_the_room_stores_the_shadow_decision_and_delivers_by_the_active_one(
    tmp_path: Path, autojump_clock: Any
) -> None:
    async with open_node(tmp_path) as node:
        node.parts.shadows.set("main", Shadow(9, "main", HOLD_ALL))
        member = await node.join("ann")
        await member.frame("history")
        for text in ("hello", "you idiot"):
            await member.post(text)
        frames = await member.frames("chat", count=2)
        assert [f["action"] for f in frames] == ["allow", "allow"]
        assert all("shadow" not in f and "why" not in f for f in frames)
        stored = node.parts.db.run_sync(lambda s: repo.window_messages(s, "main", limit=10))
        assert [(m.action, m.shadow_action, m.shadow_id) for m in stored] == [
            ("allow", "hold", 9),
            ("allow", "hold", 9),
        ]
        assert stored[1].why is not None and stored[1].why["drivers_by"] == "model"


async def announced(
    cluster: ClusterClient, control: Control, condition: Callable[[], bool], secs: float = 10.0
) -> None:
    """Announce `control` until `condition()` holds on the other node (an announcement
    made before that node subscribed is lost, as pub/sub is; these ones are idempotent)."""
    for _ in range(int(secs / 0.1)):
        cluster.announce(control)
        await trio.sleep(0.1)
        if condition():
            return
    raise AssertionError(f"{control} never took effect")


async def test_a_shadow_attached_on_one_node_decides_on_the_owner(tmp_path: Path) -> None:
    require_service("redis")
    settings = {"broker_url": "redis://127.0.0.1:6379/0", "broker_namespace": secrets.token_hex(4)}
    async with (
        open_node(tmp_path, node_id="a", **settings) as a,
        open_node(tmp_path, node_id="b", **settings) as b,
    ):
        cluster = ClusterClient(a.parts.registry.address("cluster"))
        attach = Control("shadow", "main", {"id": 3, "policy": HOLD_ALL.to_dict()})
        await announced(cluster, attach, lambda: b.parts.shadows.get("main") is not None)
        assert b.parts.shadows.get("main") == Shadow(3, "main", HOLD_ALL)
        detach = Control("shadow", "main", {"id": None})
        await announced(cluster, detach, lambda: b.parts.shadows.get("main") is None)


@pytest.mark.parametrize("bad", [{"id": 0, "policy": {}}, {"id": 2, "policy": {"bands": 3}}])
async def test_a_malformed_shadow_announcement_is_dropped(
    tmp_path: Path, bad: dict[str, Any]
) -> None:
    require_service("redis")
    settings = {"broker_url": "redis://127.0.0.1:6379/0", "broker_namespace": secrets.token_hex(4)}
    async with (
        open_node(tmp_path, node_id="a", **settings) as a,
        open_node(tmp_path, node_id="b", **settings) as b,
    ):
        cluster = ClusterClient(a.parts.registry.address("cluster"))
        good = {"id": 4, "policy": HOLD_ALL.to_dict()}
        await announced(
            cluster, Control("shadow", "warm", good), lambda: bool(b.parts.shadows.rooms())
        )
        cluster.announce(Control("shadow", "main", bad))
        # The broker keeps a subject's order: once the next one is applied, so was the bad.
        await announced(
            cluster,
            Control("shadow", "other", good),
            lambda: b.parts.shadows.get("other") is not None,
        )
        assert b.parts.shadows.get("main") is None

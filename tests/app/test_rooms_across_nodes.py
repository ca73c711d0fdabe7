"""Two nodes in one room over a real broker (Redis, then NATS) and one database: one
order, each message once, moderation once, a room that outlives its owner.

Each node is a whole supervision tree (tests/app/appkit.py) on the real clock, because
leases and the broker run on real time; both share one SQLite file.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from appkit import Member, Node, open_node
from servicekit import require_service

from safestream.moderation.classifiers import KeywordClassifier

URLS = {"redis": "redis://127.0.0.1:6379/0", "nats": "nats://127.0.0.1:4222"}


class CountingClassifier(KeywordClassifier):
    """Counts every text it scores, on whichever node asks."""

    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    def predict(self, texts: Any) -> Any:
        self.seen.extend(texts)
        return super().predict(texts)


@asynccontextmanager
async def cluster(
    tmp_path: Path, kind: str, names: tuple[str, ...], seen: list[str]
) -> AsyncIterator[dict[str, Node]]:
    require_service(kind)
    namespace = f"t{secrets.token_hex(4)}"
    async with AsyncExitStack() as stack:
        nodes = {}
        for name in names:
            nodes[name] = await stack.enter_async_context(
                open_node(
                    tmp_path,
                    CountingClassifier(seen),
                    broker_url=URLS[kind],
                    broker_namespace=namespace,
                    node_id=name,
                )
            )
        yield nodes


async def chats(member: Member, count: int) -> list[tuple[int, str]]:
    frames = await member.frames("chat", count=count)
    return [(frame["seq"], frame["message"]) for frame in frames]


@pytest.mark.parametrize("kind", ["redis", "nats"])
async def test_viewers_on_two_nodes_see_one_order_each_message_once(
    tmp_path: Path, kind: str
) -> None:
    seen: list[str] = []
    async with cluster(tmp_path, kind, ("a", "b"), seen) as nodes:
        ann = await nodes["a"].join("ann")
        bob = await nodes["b"].join("bob")
        await ann.frame("history")
        await bob.frame("history")
        for n in range(3):
            await ann.post(f"from a {n}")
            await bob.post(f"from b {n}")
        on_a, on_b = await chats(ann, 6), await chats(bob, 6)
        assert on_a == on_b
        assert [seq for seq, _ in on_a] == [1, 2, 3, 4, 5, 6]
        assert sorted(text for _, text in on_a) == sorted(
            [f"from a {n}" for n in range(3)] + [f"from b {n}" for n in range(3)]
        )
        assert sorted(seen) == sorted(text for _, text in on_a)  # moderated once each
        with trio.move_on_after(0.5):
            extra = await bob.frame("chat")
            raise AssertionError(f"delivered twice: {extra}")


@pytest.mark.parametrize("kind", ["redis"])
async def test_the_room_goes_on_when_its_owner_stops_and_since_recovers_elsewhere(
    tmp_path: Path, kind: str
) -> None:
    seen: list[str] = []
    require_service(kind)
    namespace = f"t{secrets.token_hex(4)}"

    def node(name: str) -> Any:
        return open_node(
            tmp_path,
            CountingClassifier(seen),
            broker_url=URLS[kind],
            broker_namespace=namespace,
            node_id=name,
        )

    async with node("b") as b:
        async with node("a") as a:
            ann = await a.join("ann")  # a's room starts first: a owns the room
            bob = await b.join("bob")
            await ann.post("before")
            assert (await chats(bob, 1)) == [(1, "before")]
        # The owner has stopped: b takes the room over within the lease TTL.
        with trio.fail_after(10):
            await bob.post("after")
            assert (await chats(bob, 1)) == [(2, "after")]
        carol = await b.join("carol", since=0)
        history = await carol.frame("history")
        assert [m["message"] for m in history["messages"]] == ["before", "after"]
        assert history["recovered"] is True


def kill_redis_clients(prefix: str) -> int:
    """Close every Redis connection whose name starts with `prefix` (a broker outage)."""
    import redis

    server = redis.Redis(host="127.0.0.1", port=6379)
    killed = 0
    for client in server.client_list():
        if client.get("name", "").startswith(prefix):
            killed += server.client_kill_filter(_id=client["id"])
    server.close()
    return killed


async def test_after_a_broker_outage_nodes_reconnect_and_viewers_miss_nothing(
    tmp_path: Path,
) -> None:
    require_service("redis")
    seen: list[str] = []
    namespace = f"t{secrets.token_hex(4)}"
    nodes = {}
    async with AsyncExitStack() as stack:
        for name in ("a", "b"):
            nodes[name] = await stack.enter_async_context(
                open_node(
                    tmp_path,
                    CountingClassifier(seen),
                    broker_url=URLS["redis"],
                    broker_namespace=namespace,
                    node_id=name,
                )
            )
        ann = await nodes["a"].join("ann")  # a owns the room
        bob = await nodes["b"].join("bob")
        await ann.post("before")
        assert await chats(bob, 1) == [(1, "before")]
        assert kill_redis_clients(f"{namespace}:") >= 2
        await ann.post("during")  # may be published while b is away: b fills the gap
        with trio.fail_after(15):
            while not all(n.parts.broker.reconnects for n in nodes.values()):  # noqa: ASYNC110 - a real server
                await trio.sleep(0.05)
            while not all(n.parts.broker.state == "connected" for n in nodes.values()):  # noqa: ASYNC110 - a real server
                await trio.sleep(0.05)
        await trio.sleep(0.5)  # both resubscribed
        await ann.post("after")
        assert await chats(bob, 2) == [(2, "during"), (3, "after")]
        assert await chats(ann, 3) == [(1, "before"), (2, "during"), (3, "after")]


async def test_while_one_node_is_behind_on_delivery_the_whole_room_refuses_posts(
    tmp_path: Path,
) -> None:
    seen: list[str] = []
    async with cluster(tmp_path, "redis", ("a", "b"), seen) as nodes:
        ann = await nodes["a"].join("ann")
        await ann.frame("history")
        # On node b (not the owner) a viewer that reads, but whose frames the server
        # has not written for over a second: b is behind on delivery.
        behind = await nodes["b"].join("behind", capacity=64, reading=True)
        bob = await nodes["b"].join("bob")
        await bob.frame("history")
        await trio.sleep(1.3)
        await bob.post("not forwarded")
        error = await bob.frame("error")
        assert error["code"] == "room_busy" and "delivery" in error["detail"]
        assert nodes["b"].parts.metrics.room_busy == {"delivery": 1}
        # b reports its lag with its viewer count (every second): the owner refuses too.
        error = await answer_becomes(ann, "room_busy")
        assert "on another node" in error["detail"]
        assert nodes["a"].parts.metrics.room_busy["elsewhere"] >= 1
        refused = len(seen)
        # Once b's viewer has its frames and b says so, the room takes posts again.
        await behind.outbox.next_batch()
        await answer_becomes(ann, "chat")
        assert len(seen) == refused + 1


async def answer_becomes(member: Member, wanted: str) -> dict[str, Any]:
    """Post until the answer is a chat frame (`wanted="chat"`) or that error; the lag
    report that changes it takes up to a second."""
    with trio.fail_after(10):
        for n in itertools.count():
            await member.post(f"post {n}")
            frame = await member.frame()
            while frame["type"] not in ("chat", "error"):
                frame = await member.frame()
            if wanted in (frame["type"], frame.get("code")):
                return frame
            await trio.sleep(0.2)
    raise AssertionError("unreachable")

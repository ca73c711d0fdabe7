"""The broker behind one interface, on the real servers: memory, Redis and NATS.

Two BrokerActors stand for two nodes (each with its own connection). Under CI=true a
missing Redis or NATS fails the run (tests/services.sh starts them); elsewhere it skips.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import pytest
import redis.asyncio as aioredis
import trio
import trio_asyncio
from servicekit import require_service

from actors import ActorSystem, ChildSpec, Supervisor
from safestream.cluster.actor import BrokerActor, BrokerClient, BrokerStatus
from safestream.cluster.backends import open_broker
from safestream.cluster.broker import Broker, BrokerUnavailable
from safestream.cluster.redis_broker import BURST_MAX, _read_burst

URLS = {"memory": "memory://", "redis": "redis://127.0.0.1:6379/0", "nats": "nats://127.0.0.1:4222"}


@asynccontextmanager
async def node(make: Callable[[], Broker], name: str) -> AsyncIterator[BrokerClient]:
    status = BrokerStatus(kind="test", node=name)
    spec = ChildSpec("broker", lambda: BrokerActor(make, status), register="broker")
    async with ActorSystem.open(Supervisor([spec]), name=name) as system:
        client = BrokerClient(system.address("broker"), status)
        await eventually(lambda: status.state == "connected")
        yield client


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait for a state that a real server's events bring about (polled, bounded)."""
    with trio.fail_after(10):
        while not condition():  # noqa: ASYNC110 - set by a real connection, not a Trio task
            await trio.sleep(0.01)


def factory(kind: str, namespace: str) -> Callable[[], Broker]:
    if kind != "memory":
        require_service(kind)
    return partial(open_broker, URLS[kind], namespace=namespace)


async def receive(channel: trio.MemoryReceiveChannel[bytes]) -> bytes:
    with trio.fail_after(5):
        return await channel.receive()


@pytest.fixture
def namespace() -> str:
    return f"t{secrets.token_hex(4)}"


@pytest.mark.parametrize("kind", ["redis", "nats"])
async def test_a_message_published_on_one_node_reaches_the_other_in_order(
    kind: str, namespace: str
) -> None:
    make = factory(kind, namespace)
    async with node(make, "a") as a, node(make, "b") as b:
        events = await b.subscribe("room.main.events", capacity=16)
        await trio.sleep(0.5)  # Redis subscribes from its reader task
        for n in range(5):
            assert a.publish("room.main.events", f"m{n}".encode())
        assert [await receive(events) for _ in range(5)] == [b"m0", b"m1", b"m2", b"m3", b"m4"]


async def test_the_memory_broker_delivers_on_one_node(namespace: str) -> None:
    async with node(factory("memory", namespace), "a") as a:
        events = await a.subscribe("s", capacity=4)
        a.publish("s", b"hello")
        assert await receive(events) == b"hello"


@pytest.mark.parametrize("kind", ["memory", "redis", "nats"])
async def test_a_lease_has_one_holder_until_it_is_released(kind: str, namespace: str) -> None:
    make = factory(kind, namespace)
    if kind == "memory":  # one process, one broker object: both nodes share it
        shared = make()
        make = lambda: shared  # noqa: E731
    async with node(make, "a") as a, node(make, "b") as b:
        assert await a.acquire_lease("room.main", ttl=5.0)
        assert not await b.acquire_lease("room.main", ttl=5.0)
        assert await a.acquire_lease("room.main", ttl=5.0)  # renewal
        assert await b.lease_holder("room.main") == "a"
        await a.release_lease("room.main")
        assert await b.acquire_lease("room.main", ttl=5.0)
        assert await a.lease_holder("room.main") == "b"


@pytest.mark.parametrize("kind", ["redis", "nats"])
async def test_a_lease_that_is_not_renewed_lapses(kind: str, namespace: str) -> None:
    make = factory(kind, namespace)
    async with node(make, "a") as a, node(make, "b") as b:
        assert await a.acquire_lease("room.x", ttl=1.0)
        assert not await b.acquire_lease("room.x", ttl=1.0)
        with trio.fail_after(5):
            while not await b.acquire_lease("room.x", ttl=1.0):  # noqa: ASYNC110 - a real server's clock
                await trio.sleep(0.2)
        assert await a.lease_holder("room.x") == "b"


async def test_a_dropped_redis_connection_degrades_then_reconnects_and_resubscribes(
    namespace: str,
) -> None:
    import redis

    brokers: list[Broker] = []

    def make() -> Broker:
        brokers.append(factory("redis", namespace)())
        return brokers[-1]

    async with node(make, "a") as a, node(factory("redis", namespace), "b") as b:
        events = await a.subscribe("s", capacity=8)
        client_id = brokers[-1].client_id  # type: ignore[attr-defined]
        redis.Redis(host="127.0.0.1", port=6379).client_kill_filter(_id=client_id)
        await eventually(lambda: a.status.state == "degraded")
        with pytest.raises(BrokerUnavailable):
            await a.acquire_lease("x", ttl=1.0)
        await eventually(lambda: a.status.state == "connected")
        assert a.status.reconnects == 1
        await trio.sleep(0.5)  # resubscribed by the reader task
        b.publish("s", b"after")
        assert await receive(events) == b"after"


async def test_a_redis_backlog_is_read_in_bursts_of_at_most_burst_max(namespace: str) -> None:
    require_service("redis")
    async with trio_asyncio.open_loop():
        client = aioredis.Redis.from_url(URLS["redis"])
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        channel = f"{namespace}:backlog"
        await trio_asyncio.aio_as_trio(pubsub.subscribe)(channel)
        count = BURST_MAX + 10
        for n in range(count):  # all published before anything is read: a backlog
            await trio_asyncio.aio_as_trio(client.publish)(channel, str(n))
        bursts: list[int] = []
        with trio.fail_after(10):
            while sum(bursts) < count:
                burst = await trio_asyncio.aio_as_trio(_read_burst)(pubsub)
                assert [m["data"] for m in burst] == [
                    str(n).encode() for n in range(sum(bursts), sum(bursts) + len(burst))
                ]
                if burst:  # (empty: the subscription's confirmation, read and ignored)
                    bursts.append(len(burst))
        assert bursts[0] == BURST_MAX and sum(bursts) == count
        assert await trio_asyncio.aio_as_trio(_read_burst)(pubsub) == []  # after POLL_SECS
        await trio_asyncio.aio_as_trio(pubsub.aclose)()
        await trio_asyncio.aio_as_trio(client.aclose)()

"""The Redis broker: pub/sub channels for subjects, `SET NX PX` leases.

redis-py's client is asyncio-only, so every call goes through trio-asyncio
(`aio_as_trio`) inside the loop `connected()` opens; the rest of the node stays pure
Trio. Subscriptions are read by one task; new subscriptions are handed to it, because a
pub/sub connection must not be read and written by two tasks at once.

Example:
    broker = RedisBroker("redis://127.0.0.1:6379/0", namespace="safestream")
    async with broker.connected():
        await broker.publish("room.main.events", b"...")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import trio
import trio_asyncio
from redis.exceptions import RedisError

from safestream.cluster.broker import BrokerUnavailable, Deliver

__all__ = ["RedisBroker"]

POLL_SECS = 0.2
BURST_MAX = 256  # pub/sub messages handed on per read at most
CONNECT_TIMEOUT_SECS = 3.0
# Renew only our own lease; release only our own lease.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class RedisBroker:
    kind = "redis"

    def __init__(self, url: str, *, namespace: str, node: str = "") -> None:
        self._url = url
        self.client_name = f"{namespace}:{node}" if node else namespace
        self._prefix = f"{namespace}:"
        self._client: Any = None
        self._pubsub: Any = None
        self._handlers: dict[str, Deliver] = {}
        self._pending: set[str] = set()
        self._dropped: set[str] = set()
        self._subscribed = trio.Event()
        self._active: set[str] = set()
        self.client_id: int | None = None

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        async with trio_asyncio.open_loop():
            try:
                client = aioredis.Redis.from_url(
                    self._url,
                    socket_connect_timeout=CONNECT_TIMEOUT_SECS,
                    client_name=self.client_name,
                )
                await self._call(client.ping)
                self.client_id = await self._call(client.client_id)
            except (RedisError, OSError) as exc:
                raise BrokerUnavailable(f"redis: {exc}") from exc
            self._client = client
            self._pubsub = client.pubsub(ignore_subscribe_messages=True)
            self._pending = set(self._handlers)
            self._active = set()
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read)
                    yield
                    nursery.cancel_scope.cancel()
            finally:
                self._client = self._pubsub = None
                with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                    await self._call(client.aclose)

    async def _read(self) -> None:
        pubsub = self._pubsub
        while True:
            try:
                if self._pending:
                    taken = set(self._pending)
                    self._pending.clear()
                    await self._call(pubsub.subscribe, *(self._prefix + s for s in taken))
                    self._active |= taken
                    self._subscribed.set()
                    self._subscribed = trio.Event()
                if self._dropped:
                    subjects = [self._prefix + s for s in self._dropped]
                    self._dropped.clear()
                    await self._call(pubsub.unsubscribe, *subjects)
                if not pubsub.subscribed:
                    await trio.sleep(POLL_SECS)
                    continue
                messages = await self._call(_read_burst, pubsub)
            except (RedisError, OSError) as exc:
                raise BrokerUnavailable(f"redis: {exc}") from exc
            for message in messages:
                if message.get("type") != "message":
                    continue
                subject = message["channel"].decode().removeprefix(self._prefix)
                handler = self._handlers.get(subject)
                if handler is not None:
                    handler(subject, message["data"])

    async def publish(self, subject: str, payload: bytes) -> None:
        await self._command("publish", self._prefix + subject, payload)

    async def subscribe(self, subject: str, deliver: Deliver) -> None:
        """Returns once the reader task has sent the SUBSCRIBE (so later publishes reach us)."""
        known = subject in self._handlers
        self._handlers[subject] = deliver
        if known:
            await trio.lowlevel.checkpoint()
            return
        self._pending.add(subject)
        while self._client is not None and subject not in self._active:
            await self._subscribed.wait()

    async def unsubscribe(self, subject: str) -> None:
        await trio.lowlevel.checkpoint()
        if self._handlers.pop(subject, None) is not None:
            self._pending.discard(subject)
            self._active.discard(subject)
            self._dropped.add(subject)

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        key, ms = self._prefix + "lease:" + name, max(1, int(ttl * 1000))
        if await self._command("set", key, holder, nx=True, px=ms):
            return True
        return bool(await self._command("eval", _RENEW, 1, key, holder, ms))

    async def release_lease(self, name: str, holder: str) -> None:
        await self._command("eval", _RELEASE, 1, self._prefix + "lease:" + name, holder)

    async def lease_holder(self, name: str) -> str | None:
        value = await self._command("get", self._prefix + "lease:" + name)
        return None if value is None else bytes(value).decode()

    async def _command(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._client is None:
            raise BrokerUnavailable("redis: not connected")
        try:
            return await self._call(getattr(self._client, name), *args, **kwargs)
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(f"redis: {exc}") from exc

    @staticmethod
    async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await trio_asyncio.aio_as_trio(fn)(*args, **kwargs)


async def _read_burst(pubsub: Any) -> list[dict[str, Any]]:
    """(asyncio) The next message (waiting up to POLL_SECS) and those already received
    after it, up to BURST_MAX: one trio-asyncio crossing for a backlog, and a room's
    subscriber wakes once for all of it (a replica delivers a run in one write)."""
    messages: list[dict[str, Any]] = []
    message = await pubsub.get_message(timeout=POLL_SECS)
    while message is not None:
        messages.append(message)
        if len(messages) == BURST_MAX:
            break
        message = await pubsub.get_message(timeout=0.0)
    return messages

"""The NATS broker: core subjects for pub/sub, a JetStream key-value bucket for leases.

nats-py is asyncio-only, so every call goes through trio-asyncio (`aio_as_trio`) inside
the loop `connected()` opens. Leases live in one KV bucket per TTL (a bucket's entries
expire `ttl` after their last update): taking a lease is a `create` (fails if anyone
holds it), renewing an `update` on our own revision, releasing a `delete` on it.

Example:
    broker = NatsBroker("nats://127.0.0.1:4222", namespace="safestream")
    async with broker.connected():
        await broker.publish("room.main.events", b"...")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import nats
import trio
import trio_asyncio
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError

from safestream.cluster.broker import BrokerUnavailable, Deliver

__all__ = ["NatsBroker"]

CONNECT_TIMEOUT_SECS = 3.0


class NatsBroker:
    kind = "nats"

    def __init__(self, url: str, *, namespace: str, node: str = "") -> None:
        self._url = url
        self._name = f"{namespace}:{node}" if node else namespace
        self._namespace = namespace
        self._client: Any = None
        self._subscriptions: dict[str, Any] = {}
        self._handlers: dict[str, Deliver] = {}
        self._buckets: dict[int, Any] = {}
        self._revisions: dict[str, int] = {}
        self._lost: trio.Event | None = None

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        async with trio_asyncio.open_loop():
            lost = self._lost = trio.Event()

            async def on_disconnect() -> None:
                lost.set()

            try:
                client = await self._call(
                    nats.connect,
                    self._url,
                    connect_timeout=CONNECT_TIMEOUT_SECS,
                    name=self._name,
                    allow_reconnect=False,
                    disconnected_cb=on_disconnect,
                    closed_cb=on_disconnect,
                )
            except (NatsError, OSError, TimeoutError) as exc:
                raise BrokerUnavailable(f"nats: {exc}") from exc
            self._client = client
            self._buckets.clear()
            self._revisions.clear()
            handlers, self._handlers, self._subscriptions = dict(self._handlers), {}, {}
            try:
                for subject, deliver in handlers.items():
                    await self.subscribe(subject, deliver)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._watch, lost)
                    yield
                    nursery.cancel_scope.cancel()
            finally:
                self._client = None
                with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                    try:
                        await self._call(client.close)
                    except (NatsError, OSError):
                        pass  # already gone: nothing left to close

    @staticmethod
    async def _watch(lost: trio.Event) -> None:
        await lost.wait()
        raise BrokerUnavailable("nats: connection lost")

    async def publish(self, subject: str, payload: bytes) -> None:
        await self._command(self._require().publish, self._subject(subject), payload)

    async def subscribe(self, subject: str, deliver: Deliver) -> None:
        self._handlers[subject] = deliver
        if subject in self._subscriptions:
            return

        async def on_message(message: Any) -> None:
            handler = self._handlers.get(subject)
            if handler is not None:
                handler(subject, message.data)

        self._subscriptions[subject] = await self._command(
            self._require().subscribe, self._subject(subject), cb=on_message
        )
        await self._command(
            self._require().flush
        )  # the server has the SUB: later publishes reach us

    async def unsubscribe(self, subject: str) -> None:
        self._handlers.pop(subject, None)
        subscription = self._subscriptions.pop(subject, None)
        if subscription is not None:
            await self._command(subscription.unsubscribe)

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        bucket = await self._bucket(ttl)
        key = _key(name)
        payload = holder.encode()
        try:
            self._revisions[name] = await self._command(bucket.create, key, payload)
            return True
        except KeyWrongLastSequenceError:
            pass
        entry = await self._entry(bucket, key)
        if entry is None or entry.value != payload:
            return False
        try:
            self._revisions[name] = await self._command(
                bucket.update, key, payload, last=entry.revision
            )
        except KeyWrongLastSequenceError:
            return False
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        for bucket in self._buckets.values():
            entry = await self._entry(bucket, _key(name))
            if entry is not None and entry.value == holder.encode():
                try:
                    await self._command(bucket.delete, _key(name), last=entry.revision)
                except KeyWrongLastSequenceError:
                    pass  # renewed or taken meanwhile: not ours to delete any more

    async def lease_holder(self, name: str) -> str | None:
        for bucket in self._buckets.values():
            entry = await self._entry(bucket, _key(name))
            if entry is not None and entry.value:
                return bytes(entry.value).decode()
        return None

    async def _bucket(self, ttl: float) -> Any:
        ms = max(1000, int(ttl * 1000))
        bucket = self._buckets.get(ms)
        if bucket is None:
            js = self._require().jetstream()
            name = f"{self._namespace}_leases_{ms}"
            try:
                bucket = await self._command(js.key_value, name)
            except NotFoundError:
                bucket = await self._command(js.create_key_value, bucket=name, ttl=ms / 1000)
            self._buckets[ms] = bucket
        return bucket

    async def _entry(self, bucket: Any, key: str) -> Any:
        try:
            return await self._command(bucket.get, key)
        except KeyNotFoundError:
            return None

    def _subject(self, subject: str) -> str:
        return f"{self._namespace}.{subject}"

    def _require(self) -> Any:
        if self._client is None:
            raise BrokerUnavailable("nats: not connected")
        return self._client

    async def _command(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._call(fn, *args, **kwargs)
        except (KeyWrongLastSequenceError, KeyNotFoundError, NotFoundError):
            raise
        except (NatsError, OSError, TimeoutError) as exc:
            raise BrokerUnavailable(f"nats: {exc}") from exc

    @staticmethod
    async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await trio_asyncio.aio_as_trio(fn)(*args, **kwargs)


def _key(name: str) -> str:
    # KV keys allow letters, digits, '-', '_', '/', '=' and '.'.
    return "".join(ch if ch.isalnum() or ch in "-_/=." else "_" for ch in name)

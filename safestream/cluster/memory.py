"""The in-process broker: one node, no service. The same interface as Redis and NATS, so
one code path serves a single node and a cluster.

Example:
    broker = MemoryBroker()
    async with broker.connected():
        await broker.publish("s", b"x")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from safestream.cluster.broker import Deliver

__all__ = ["MemoryBroker"]


class MemoryBroker:
    kind = "memory"

    def __init__(self) -> None:
        self._subscribers: dict[str, Deliver] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        yield

    async def publish(self, subject: str, payload: bytes) -> None:
        await trio.lowlevel.checkpoint()
        deliver = self._subscribers.get(subject)
        if deliver is not None:
            deliver(subject, payload)

    async def subscribe(self, subject: str, deliver: Deliver) -> None:
        await trio.lowlevel.checkpoint()
        self._subscribers[subject] = deliver

    async def unsubscribe(self, subject: str) -> None:
        await trio.lowlevel.checkpoint()
        self._subscribers.pop(subject, None)

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        await trio.lowlevel.checkpoint()
        now = trio.current_time()
        current = self._leases.get(name)
        if current is None or current[0] == holder or current[1] <= now:
            self._leases[name] = (holder, now + ttl)
            return True
        return False

    async def release_lease(self, name: str, holder: str) -> None:
        await trio.lowlevel.checkpoint()
        current = self._leases.get(name)
        if current is not None and current[0] == holder:
            del self._leases[name]

    async def lease_holder(self, name: str) -> str | None:
        await trio.lowlevel.checkpoint()
        current = self._leases.get(name)
        if current is None or current[1] <= trio.current_time():
            return None
        return current[0]

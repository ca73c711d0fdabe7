"""The broker interface: publish/subscribe between nodes, and leases, behind one protocol.

A `Broker` is a backend connection used by exactly one task: the `BrokerActor`
(`safestream.cluster.actor`), which owns it, reconnects it and serves the rest of the
node by message. Three backends, chosen by `BROKER_URL`:

- `memory://` (default): in-process, for one node; no service needed;
- `redis://host:port/db`: Redis pub/sub, leases with `SET NX PX`;
- `nats://host:port`: NATS core subjects, leases in a JetStream key-value bucket.

Every backend gives the same guarantees the cluster code relies on: messages on one
subject from one publisher arrive in order; a subscriber sees only what is published
after it subscribed (at most once: pub/sub, not a log — what must survive is in
PostgreSQL); a lease has one holder at a time and lapses `ttl` after its last renewal.

Example (`open_broker` is in `safestream.cluster.backends`):
    broker = open_broker("redis://127.0.0.1:6379/0")
    async with broker.connected():
        await broker.subscribe("room.main.events", deliver)
        await broker.publish("room.main.events", b"...")
        assert await broker.acquire_lease("room.main", "node-a", ttl=3.0)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

__all__ = ["Broker", "BrokerUnavailable", "Deliver"]

# Called on the broker actor's task with (subject, payload) for every message received.
Deliver = Callable[[str, bytes], None]


class BrokerUnavailable(Exception):
    """The broker cannot be reached now (the actor is reconnecting)."""


class Broker(Protocol):
    """A connection to a broker; every method is called from the broker actor's task."""

    kind: str  # "memory" | "redis" | "nats"

    def connected(self) -> AbstractAsyncContextManager[None]:
        """Connect; the connection lasts for the block. Raises BrokerUnavailable."""
        ...

    async def publish(self, subject: str, payload: bytes) -> None: ...

    async def subscribe(self, subject: str, deliver: Deliver) -> None:
        """Deliver every later message on `subject` (idempotent per subject)."""
        ...

    async def unsubscribe(self, subject: str) -> None: ...

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take lease `name` for `holder`, or renew it if `holder` has it: True if held."""
        ...

    async def release_lease(self, name: str, holder: str) -> None:
        """Give lease `name` up if `holder` has it (no-op otherwise)."""
        ...

    async def lease_holder(self, name: str) -> str | None: ...

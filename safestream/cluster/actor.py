"""BrokerActor: the supervised actor that owns the node's broker connection.

The rest of the node talks to it by message through a `BrokerClient`: publish (tell,
never waits), subscribe (ask: a bounded Trio channel of payloads), and leases (ask). It
connects at start; when the connection drops it stays up, marks itself `degraded` (in
the tree, `/metrics` and `BrokerStatus`), refuses lease asks and counts the publishes it
cannot send, and reconnects with a growing backoff, subscribing again to every subject.
asyncio-only clients (redis-py, nats-py) run through trio-asyncio inside the backend, so
this actor and everything else stays pure Trio.

Example:
    client = BrokerClient(system.address("broker"))
    events = await client.subscribe("room.main.events", capacity=1024)
    client.publish("room.main.events", b"...")
    assert await client.acquire_lease("room.main", ttl=3.0)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from actors import Actor, ActorError, Address, Backoff, Envelope
from safestream.cluster.broker import Broker, BrokerUnavailable

__all__ = [
    "AcquireLease",
    "BrokerActor",
    "BrokerClient",
    "BrokerStatus",
    "LeaseHolder",
    "Publish",
    "ReleaseLease",
    "Subscribe",
    "Unsubscribe",
]

ASK_TIMEOUT_SECS = 5.0
RECONNECT = Backoff(initial=0.25, maximum=10.0, multiplier=2.0, jitter=0.2)


@dataclass
class BrokerStatus:
    """What `/metrics` and the tree show about the broker (written only by the actor)."""

    kind: str
    node: str
    state: str = "connecting"  # connecting | connected | degraded
    reconnects: int = 0
    last_error: str = ""
    published: int = 0
    received: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "node": self.node,
            "state": self.state,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "published": self.published,
            "received": self.received,
            "dropped": dict(self.dropped),
        }

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


@dataclass(frozen=True)
class Publish:
    """Tell: send `payload` on `subject` (dropped and counted while degraded)."""

    subject: str
    payload: bytes


@dataclass(frozen=True)
class Subscribe:
    """Ask: deliver `subject`'s messages to `channel` (bounded; full means dropped)."""

    subject: str
    channel: trio.MemorySendChannel[bytes]


@dataclass(frozen=True)
class Unsubscribe:
    subject: str
    channel: trio.MemorySendChannel[bytes]


@dataclass(frozen=True)
class AcquireLease:
    """Ask: take or renew lease `name` for this node; answers True when held."""

    name: str
    ttl: float

    def __post_init__(self) -> None:
        if self.ttl <= 0:
            raise ValueError("a lease needs a positive ttl")


@dataclass(frozen=True)
class ReleaseLease:
    name: str


@dataclass(frozen=True)
class LeaseHolder:
    """Ask: the node holding lease `name`, or None."""

    name: str


class BrokerActor(Actor):
    kind = "broker"
    mailbox_capacity = 4096

    def __init__(
        self,
        make_broker: Callable[[], Broker],
        status: BrokerStatus,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._make_broker = make_broker
        self._status = status
        self._rng = rng or random.Random()
        self._channels: dict[str, list[trio.MemorySendChannel[bytes]]] = {}
        self._broker: Broker | None = None

    async def run(self) -> None:
        failures = 0
        while not self.stopping:
            broker = self._make_broker()
            try:
                async with broker.connected():
                    self._broker = broker
                    for subject in list(self._channels):
                        await broker.subscribe(subject, self._deliver)
                    self._status.state = "connected"
                    failures = 0
                    while (envelope := await self.receive()) is not None:
                        await self.dispatch(envelope)
                    return
            except* BrokerUnavailable as group:
                self._status.last_error = str(group.exceptions[0])[:200]
            finally:
                self._broker = None
            failures += 1
            self._status.state = "degraded"
            self._status.reconnects += 1
            await self._refuse_for(RECONNECT.delay(failures, self._rng))

    async def _refuse_for(self, seconds: float) -> None:
        """Answer what arrives while the broker is away, until it is time to reconnect."""
        with trio.move_on_after(seconds):
            while (envelope := await self.receive()) is not None:
                self._refuse(envelope)

    def _refuse(self, envelope: Envelope) -> None:
        message = envelope.message
        if isinstance(message, Subscribe):  # kept: subscribed again on reconnect
            self._channels.setdefault(message.subject, []).append(message.channel)
            if envelope.reply is not None:
                envelope.reply.send(None)
            return
        if isinstance(message, Publish):
            self._status.drop("broker_unavailable")
        if envelope.reply is not None:
            envelope.reply.fail(BrokerUnavailable(self._status.last_error or "reconnecting"))

    async def handle(self, message: Any) -> Any:
        broker = self._broker
        assert broker is not None
        match message:
            case Publish(subject, payload):
                await broker.publish(subject, payload)
                self._status.published += 1
            case Subscribe(subject, channel):
                channels = self._channels.setdefault(subject, [])
                channels.append(channel)
                if len(channels) == 1:
                    await broker.subscribe(subject, self._deliver)
            case Unsubscribe(subject, channel):
                channels = self._channels.get(subject, [])
                if channel in channels:
                    channels.remove(channel)
                if not channels and self._channels.pop(subject, None) is not None:
                    await broker.unsubscribe(subject)
            case AcquireLease(name, ttl):
                return await broker.acquire_lease(name, self._status.node, ttl)
            case ReleaseLease(name):
                await broker.release_lease(name, self._status.node)
            case LeaseHolder(name):
                return await broker.lease_holder(name)
            case _:
                return await super().handle(message)
        return None

    def _deliver(self, subject: str, payload: bytes) -> None:
        self._status.received += 1
        keep = []
        for channel in self._channels.get(subject, []):
            try:
                channel.send_nowait(payload)
            except trio.WouldBlock:
                self._status.drop("subscriber_full")
                keep.append(channel)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                continue
            else:
                keep.append(channel)
        if subject in self._channels:
            self._channels[subject] = keep

    def introspect(self) -> dict[str, Any]:
        return {**self._status.as_dict(), "subjects": len(self._channels)}


class BrokerClient:
    """What the rest of the node uses: the broker actor's address and plain calls."""

    def __init__(self, broker: Address, status: BrokerStatus) -> None:
        self._broker = broker
        self.status = status

    @property
    def node(self) -> str:
        return self.status.node

    def publish(self, subject: str, payload: bytes) -> bool:
        """Send without waiting; False (and counted) if the broker actor cannot take it."""
        try:
            self._broker.tell_nowait(Publish(subject, payload))
        except ActorError:
            self.status.drop("broker_busy")
            return False
        return True

    async def subscribe(self, subject: str, *, capacity: int) -> trio.MemoryReceiveChannel[bytes]:
        """A bounded channel of every later payload on `subject` (close it to stop)."""
        send, receive = trio.open_memory_channel[bytes](capacity)
        await self._broker.ask(Subscribe(subject, send), timeout=ASK_TIMEOUT_SECS)
        return receive

    async def acquire_lease(self, name: str, *, ttl: float) -> bool:
        """Take or renew lease `name` for this node.

        Raises:
            BrokerUnavailable: the broker is away (treat the lease as not held).
        """
        try:
            return bool(await self._broker.ask(AcquireLease(name, ttl), timeout=ASK_TIMEOUT_SECS))
        except ActorError as exc:
            raise BrokerUnavailable(str(exc)) from exc

    async def release_lease(self, name: str) -> None:
        try:
            await self._broker.ask(ReleaseLease(name), timeout=ASK_TIMEOUT_SECS)
        except ActorError as exc:
            raise BrokerUnavailable(str(exc)) from exc

    async def lease_holder(self, name: str) -> str | None:
        try:
            holder: str | None = await self._broker.ask(LeaseHolder(name), timeout=ASK_TIMEOUT_SECS)
        except ActorError as exc:
            raise BrokerUnavailable(str(exc)) from exc
        return holder

"""The application's shared parts, created once at start-up and passed explicitly.

Nothing here is global: `Services` is built by `safestream.node` and handed to routes and
actors. Slots such as `rooms` point at the *current* incarnation of a supervised actor;
its factory installs each new incarnation after a restart.

Example:
    services = Services.create(settings, classifier)
    ref = await services.rooms.room("main")
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from actors import ActorError
from safestream.chat.limits import ConnectionLimits, KeyedRateLimiter
from safestream.chat.sanctions import Sanctions
from safestream.metrics import Metrics
from safestream.moderation.feed import FeedEvent
from safestream.settings import Settings
from safestream.store.database import Database

if TYPE_CHECKING:
    from actors import ActorRef, ActorSystem, Supervisor
    from safestream.chat.room_supervisor import RoomSupervisor
    from safestream.moderation.classifiers import Classifier
    from safestream.moderation.pool import ModerationClient

__all__ = ["NotStarted", "Services"]

T = TypeVar("T")


class NotStarted(RuntimeError):
    """A part of the supervision tree was used before it started."""


@dataclass
class Services:
    """Everything routes and actors share; supervised parts are filled in as they start."""

    settings: Settings
    db: Database
    classifier: Classifier
    metrics: Metrics = field(default_factory=Metrics)
    sanctions: Sanctions = field(default_factory=Sanctions)
    limits: ConnectionLimits = field(init=False)
    login_attempts: KeyedRateLimiter = field(init=False)
    system: ActorSystem | None = None
    offload: Callable[..., Awaitable[Any]] = trio.to_thread.run_sync
    _rooms: RoomSupervisor | None = None
    _connections: Supervisor | None = None
    _moderation: ModerationClient | None = None
    _conn_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.limits = ConnectionLimits(
            max_total=self.settings.max_connections,
            max_per_user=self.settings.max_connections_per_user,
            max_per_ip=self.settings.max_connections_per_ip,
        )
        per_minute = self.settings.login_attempts_per_minute
        self.login_attempts = KeyedRateLimiter(rate=per_minute / 60.0, burst=per_minute)

    @classmethod
    def create(cls, settings: Settings, classifier: Classifier) -> Services:
        return cls(
            settings, Database(settings.database_url, threads=settings.db_threads), classifier
        )

    def next_conn_id(self) -> int:
        return next(self._conn_ids)

    @property
    def rooms(self) -> RoomSupervisor:
        return _started(self._rooms, "rooms")

    @property
    def connections(self) -> Supervisor:
        return _started(self._connections, "connections")

    @property
    def moderation(self) -> ModerationClient:
        return _started(self._moderation, "moderation")

    def lookup(self, name: str) -> ActorRef[Any] | None:
        """The registered actor `name`, or None while the tree is starting or restarting it."""
        return self.system.lookup(name) if self.system else None

    @property
    def store(self) -> ActorRef[Any]:
        return _started(self.lookup("store"), "store")

    def notify(self, kind: str, data: dict[str, Any]) -> None:
        """Best-effort event for the moderators' live feed; never blocks or raises.

        The feed drops its oldest events when full; while it restarts, events are lost
        (the feed is a live view, the database keeps the record).
        """
        ref = self.lookup("feed")
        if ref is None:
            return
        try:
            ref.tell_nowait(FeedEvent(kind, data))
        except ActorError:
            self.metrics.refused["feed_unavailable"] += 1

    def install_rooms(self, rooms: RoomSupervisor) -> RoomSupervisor:
        self._rooms = rooms
        return rooms

    def install_connections(self, connections: Supervisor) -> Supervisor:
        self._connections = connections
        return connections

    def install_moderation(self, client: ModerationClient) -> None:
        self._moderation = client


def _started(value: T | None, name: str) -> T:
    if value is None:
        raise NotStarted(f"{name} is not running")
    return value

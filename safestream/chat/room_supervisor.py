"""RoomSupervisor: starts one Room actor per room on demand (transient children).

A room that exits normally (passivated when idle) is not restarted and is started again
on the next join; a room that crashes is restarted by this supervisor. Others reach it
only by message: `open_room` asks it for a room (starting it if needed), and running
rooms are found in the registry as `room:<name>` without asking anyone.

Example:
    ref = await open_room(system.address("rooms"), "main", timeout=5)
    ref = running_room(system.registry, "main")      # None unless it is running
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from actors import (
    ActorError,
    ActorRef,
    Address,
    ChildSpec,
    OverflowPolicy,
    Registry,
    Restart,
    Supervisor,
)
from safestream.chat.room import Room, RoomDeps

__all__ = [
    "InvalidRoom",
    "OpenRoom",
    "RoomSupervisor",
    "RoomUnavailable",
    "ShuttingDown",
    "open_room",
    "running_room",
    "running_rooms",
    "validate_room_name",
]

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
REGISTRY_PREFIX = "room:"
ROOM_SHUTDOWN_SECS = 5.0


class InvalidRoom(ValueError):
    """A room name is malformed, or the node already has MAX_ROOMS rooms."""


class RoomUnavailable(Exception):
    """The room could not be started (e.g. its history could not be loaded)."""


class ShuttingDown(RoomUnavailable):
    """The node is draining: no room takes new members (close 1001, reconnect later)."""


def validate_room_name(name: str) -> str:
    """Room names: 1-40 of letters, digits, `_` and `-`.

    Raises:
        InvalidRoom: the name is not allowed.
    """
    if not ROOM_NAME.fullmatch(name):
        raise InvalidRoom("room names are 1-40 letters, digits, '_' or '-'")
    return name


@dataclass(frozen=True)
class OpenRoom:
    """Ask: the running room `name`, started now if needed (see `open_room`)."""

    name: str

    def __post_init__(self) -> None:
        validate_room_name(self.name)


@dataclass(frozen=True)
class _Refused:
    error: Exception


class RoomSupervisor(Supervisor):
    """One_for_one supervisor of Room actors, named `room:<name>` in the registry."""

    kind = "room_supervisor"

    def __init__(self, deps: RoomDeps) -> None:
        super().__init__((), max_restarts=20, within=10.0)
        self._deps = deps

    async def handle(self, message: Any) -> Any:
        if isinstance(message, OpenRoom):
            return await self._open(message.name)
        return await super().handle(message)

    async def _open(self, name: str) -> ActorRef[Any] | _Refused:
        if self._deps.draining.is_set():
            return _Refused(ShuttingDown("server shutting down"))
        child = REGISTRY_PREFIX + name
        ref = self.child_ref(child)
        if ref is not None and ref.alive:
            return ref
        if len(self.children()) >= self._deps.settings.max_rooms:
            return _Refused(InvalidRoom("too many rooms on this node"))
        deps = self._deps
        spec = ChildSpec(
            name=child,
            factory=lambda: Room(name, deps),
            restart=Restart.TRANSIENT,
            register=child,
            mailbox_capacity=deps.settings.room_mailbox_size,
            overflow=OverflowPolicy.FAIL,
            shutdown_timeout=ROOM_SHUTDOWN_SECS,
        )
        try:
            return await self.start_child(spec)
        except Exception as exc:  # the room's start failed; this supervisor is fine
            return _Refused(RoomUnavailable(f"room {name!r} could not start: {exc}"))

    def introspect(self) -> dict[str, Any]:
        return {**super().introspect(), "rooms": len(self.children())}


async def open_room(rooms: Address | ActorRef[Any], name: str, *, timeout: float) -> ActorRef[Any]:  # noqa: ASYNC109
    """The running room `name`, asked of the RoomSupervisor `rooms` (started if needed).

    Raises:
        InvalidRoom: bad name, or MAX_ROOMS reached.
        RoomUnavailable: the room failed to start, or the supervisor could not be asked.
    """
    try:
        answer = await rooms.ask(OpenRoom(name), timeout=timeout)
    except ActorError as exc:
        raise RoomUnavailable(f"rooms are not available: {exc}") from exc
    if isinstance(answer, _Refused):
        raise answer.error
    assert isinstance(answer, ActorRef)
    return answer


def running_room(registry: Registry, name: str) -> ActorRef[Any] | None:
    """The room `name` if it is running now (never starts it)."""
    return registry.lookup(REGISTRY_PREFIX + name)


def running_rooms(registry: Registry) -> list[tuple[str, ActorRef[Any]]]:
    """(name, ref) of every room running now, sorted by name."""
    rooms = []
    for name in registry.names():
        if name.startswith(REGISTRY_PREFIX) and (ref := registry.lookup(name)) is not None:
            rooms.append((name.removeprefix(REGISTRY_PREFIX), ref))
    return rooms

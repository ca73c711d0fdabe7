"""RoomSupervisor: starts one Room actor per room on demand (transient children).

A room that exits normally (passivated when idle) is not restarted and is started again
on the next join; a room that crashes is restarted by this supervisor.

Example:
    ref = await rooms.room("main")          # starts it if needed
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import trio

from actors import ActorRef, ChildSpec, OverflowPolicy, Restart, Supervisor
from safestream.chat.room import Room

if TYPE_CHECKING:
    from safestream.services import Services

__all__ = ["InvalidRoom", "RoomSupervisor", "validate_room_name"]

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class InvalidRoom(ValueError):
    """A room name is malformed, or the node already has MAX_ROOMS rooms."""


def validate_room_name(name: str) -> str:
    """Room names: 1-40 of letters, digits, `_` and `-`.

    Raises:
        InvalidRoom: the name is not allowed.
    """
    if not ROOM_NAME.match(name):
        raise InvalidRoom("room names are 1-40 letters, digits, '_' or '-'")
    return name


class RoomSupervisor(Supervisor):
    """One_for_one supervisor of Room actors, named `room:<name>` in the registry."""

    kind = "room_supervisor"

    def __init__(self, services: Services) -> None:
        super().__init__((), max_restarts=20, within=10.0)
        self._services = services
        self._starting = trio.Lock()

    async def room(self, name: str) -> ActorRef[Any]:
        """The running room `name`, started now if it is not running.

        Raises:
            InvalidRoom: bad name, or MAX_ROOMS reached.
        """
        validate_room_name(name)
        child = f"room:{name}"
        async with self._starting:
            ref = self.child_ref(child)
            if ref is not None and ref.alive:
                return ref
            if len(self.children()) >= self._services.settings.max_rooms:
                raise InvalidRoom("too many rooms on this node")
            settings = self._services.settings
            services = self._services
            return await self.start_child(
                ChildSpec(
                    name=child,
                    factory=lambda: Room(name, services),
                    restart=Restart.TRANSIENT,
                    register=child,
                    mailbox_capacity=settings.room_mailbox_size,
                    overflow=OverflowPolicy.FAIL,
                    shutdown_timeout=5.0,
                )
            )

    def running_room(self, name: str) -> ActorRef[Any] | None:
        """The room `name` if it is running now (never starts it)."""
        ref = self.child_ref(f"room:{name}")
        return ref if ref is not None and ref.alive else None

    def running(self) -> list[tuple[str, ActorRef[Any]]]:
        """(room name, ref) of every live room."""
        out = []
        for child in self.children():
            ref = self.child_ref(child)
            if ref is not None and ref.alive:
                out.append((child.removeprefix("room:"), ref))
        return out

    def introspect(self) -> dict[str, Any]:
        return {**super().introspect(), "rooms": len(self.children())}

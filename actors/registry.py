"""Names to actor addresses, so actors find each other without globals.

One :class:`Registry` hangs off each :class:`~actors.system.ActorSystem`. Supervisors
register children whose :class:`~actors.spec.ChildSpec` has ``register`` set, keep the name
across restarts, and remove it when the child terminates for good.

An :class:`Address` is a registry name used as a destination: it resolves the name at
every send, so it keeps reaching the actor after its supervisor removed and started it
again (a passivated room, a restarted subtree). Give actors addresses of their peers at
construction instead of refs or objects.

Example::

    system.registry.register("store", store_ref)
    ref = system.lookup("store")
    store = system.address("store")
    await store.ask(Persist(rows), timeout=5)   # ActorNotRunning while nobody holds "store"
"""

from __future__ import annotations

from typing import Any

from .actor import ActorRef
from .errors import ActorNotRunning

__all__ = ["Address", "Registry"]


class Registry:
    """A mapping from names to live :class:`~actors.actor.ActorRef` objects."""

    def __init__(self) -> None:
        self._refs: dict[str, ActorRef[Any]] = {}

    def register(self, name: str, ref: ActorRef[Any]) -> None:
        """Map ``name`` to ``ref`` (replacing a dead ref).

        Raises:
            ValueError: If ``name`` is held by another live ref.
        """
        current = self._refs.get(name)
        if current is not None and current.alive and current != ref:
            raise ValueError(f"name {name!r} is already registered to {current.path}")
        self._refs[name] = ref

    def unregister(self, name: str, ref: ActorRef[Any] | None = None) -> None:
        """Remove ``name``; with ``ref``, only if it still maps to that ref. Idempotent."""
        if ref is None or self._refs.get(name) == ref:
            self._refs.pop(name, None)

    def lookup(self, name: str) -> ActorRef[Any] | None:
        """The live ref registered as ``name``, or ``None``."""
        ref = self._refs.get(name)
        return ref if ref is not None and ref.alive else None

    def address(self, name: str) -> Address:
        """An :class:`Address` that sends to whoever holds ``name`` at the time."""
        return Address(self, name)

    def names(self) -> list[str]:
        """Registered names of live actors, sorted."""
        return sorted(name for name, ref in self._refs.items() if ref.alive)


class Address:
    """A registry name to send to; resolved at each send (see the module docstring)."""

    def __init__(self, registry: Registry, name: str) -> None:
        self.registry = registry
        self.name = name

    def resolve(self) -> ActorRef[Any] | None:
        """The live ref registered under the name now, or ``None``."""
        return self.registry.lookup(self.name)

    def ref(self) -> ActorRef[Any]:
        """The live ref registered under the name now.

        Raises:
            ActorNotRunning: Nobody holds the name (not started yet, restarting, or gone).
        """
        ref = self.registry.lookup(self.name)
        if ref is None:
            raise ActorNotRunning(f"no actor is registered as {self.name!r}")
        return ref

    async def tell(self, message: Any) -> None:
        """:meth:`ActorRef.tell` to the current holder of the name."""
        await self.ref().tell(message)

    def tell_nowait(self, message: Any) -> None:
        """:meth:`ActorRef.tell_nowait` to the current holder of the name."""
        self.ref().tell_nowait(message)

    async def ask(self, message: Any, timeout: float) -> Any:  # noqa: ASYNC109 - as ActorRef
        """:meth:`ActorRef.ask` the current holder of the name."""
        return await self.ref().ask(message, timeout=timeout)

    def __repr__(self) -> str:
        return f"<Address {self.name!r}>"

"""Names to actor addresses, so actors find each other without globals.

One :class:`Registry` hangs off each :class:`~actors.system.ActorSystem`. Supervisors
register children whose :class:`~actors.spec.ChildSpec` has ``register`` set, keep the name
across restarts, and remove it when the child terminates for good.

Example::

    system.registry.register("store", store_ref)
    ref = system.lookup("store")
"""

from __future__ import annotations

from typing import Any

from .actor import ActorRef

__all__ = ["Registry"]


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

    def names(self) -> list[str]:
        """Registered names of live actors, sorted."""
        return sorted(name for name, ref in self._refs.items() if ref.alive)

"""The actor system: runs a root supervisor and holds the registry and snapshots.

Example::

    root = Supervisor([ChildSpec("counter", Counter, register="counter")])
    async with ActorSystem.open(root, name="app", rng=random.Random(7)) as system:
        ref = system.lookup("counter")
        print(await ref.ask(Add(1), timeout=1.0))
        print(format_tree(system.snapshot()))
    # leaving the block shuts the tree down in order (reverse start order, with grace)

If the root supervisor gives up (restart intensity exceeded) or crashes, the body of the
``async with`` is cancelled and the bare :class:`~actors.errors.SupervisorGaveUp` (or the
crash) propagates out of it.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from .actor import ActorRef
from .cell import ActorCell
from .introspection import snapshot_cell, snapshot_fingerprint
from .registry import Address, Registry
from .supervisor import Supervisor

__all__ = ["ActorSystem"]


class ActorSystem:
    """A tree of actors under one root supervisor, with a registry.

    Args:
        name: The root node's name; its path is ``/<name>``.
        rng: Randomness for backoff jitter; seed it for reproducible runs.
    """

    def __init__(
        self,
        name: str = "system",
        *,
        rng: random.Random | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.name = name
        self.rng = rng if rng is not None else random.Random()
        self.registry = registry if registry is not None else Registry()
        self._root: Supervisor | None = None
        self._root_cell: ActorCell | None = None

    @property
    def root(self) -> Supervisor:
        """The root supervisor (available once the system is open).

        Raises:
            RuntimeError: If the system has not been opened.
        """
        if self._root is None:
            raise RuntimeError("the actor system is not running")
        return self._root

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        root: Supervisor,
        *,
        name: str = "system",
        rng: random.Random | None = None,
        registry: Registry | None = None,
        shutdown_timeout: float = 30.0,
    ) -> AsyncIterator[ActorSystem]:
        """Run ``root`` for the duration of the ``async with`` block.

        Pass a ``registry`` made beforehand when the tree's factories need the
        addresses (:class:`~actors.registry.Address`) of their peers before the system
        exists.

        Yields once the root and its initial children have started. On exit the tree is
        shut down in order; ``shutdown_timeout`` bounds that before the root is cancelled.
        If the body is cancelled from outside, the tree is cancelled instead.

        Raises:
            SupervisorGaveUp: If the root supervisor gave up.
            Exception: Whatever the root's start raised, or its crash.
        """
        system = cls(name, rng=rng, registry=registry)
        async with system._serve(root, shutdown_timeout):
            yield system

    @asynccontextmanager
    async def _serve(self, root: Supervisor, shutdown_timeout: float) -> AsyncIterator[None]:
        cell = ActorCell(self, self.name, f"/{self.name}", root.mailbox_capacity, root.overflow)
        self._root, self._root_cell = root, cell
        cell.prepare(root)
        done = trio.Event()
        root_error: Exception | None = None
        body_error: Exception | None = None

        async def run_root(*, task_status: trio.TaskStatus[Exception | None]) -> None:
            nonlocal root_error
            try:
                _started, root_error = await cell.run_guarded(task_status=task_status)
            finally:
                cell.status = "failed" if root_error is not None else "stopped"
                cell.fail_queued(root_error)
                done.set()
            if root_error is not None:
                nursery.cancel_scope.cancel()

        async with trio.open_nursery() as nursery:
            start_error = await nursery.start(run_root)
            if start_error is None:
                graceful = False
                try:
                    yield
                    graceful = True
                except Exception as exc:  # re-raised below, once the tree is down
                    body_error, graceful = exc, True
                finally:
                    if graceful and not done.is_set():
                        with trio.CancelScope(shield=True) as scope:
                            scope.relative_deadline = shutdown_timeout
                            cell.status = "stopping"
                            root._request_stop()
                            await done.wait()
                    nursery.cancel_scope.cancel()
        if start_error is not None:
            raise start_error
        if root_error is not None:
            raise root_error
        if body_error is not None:
            raise body_error

    def lookup(self, name: str) -> ActorRef[Any] | None:
        """Shortcut for ``registry.lookup(name)``."""
        return self.registry.lookup(name)

    def address(self, name: str) -> Address:
        """An :class:`~actors.registry.Address` for registry name ``name``."""
        return self.registry.address(name)

    def find(self, path: str) -> ActorRef[Any] | None:
        """The live actor whose snapshot ``path`` is ``path`` (e.g. ``/app/rooms``), or None."""
        stack = [self._root_cell] if self._root_cell is not None else []
        while stack:
            cell = stack.pop()
            if cell.path == path:
                return None if cell.terminated else cell.ref
            if cell.actor is not None:
                stack.extend(cell.actor._child_cells())
        return None

    def snapshot(self) -> dict[str, Any]:
        """The live tree as plain JSON-able data (see :mod:`actors.introspection`)."""
        if self._root_cell is None:
            return {}
        return snapshot_cell(self._root_cell)

    async def watch(self, *, interval: float = 0.5) -> AsyncIterator[dict[str, Any]]:
        """Yield the current snapshot, then each changed one, at most once per ``interval``.

        Snapshots that differ only in uptimes count as unchanged. Use it with
        ``contextlib.aclosing`` so the generator is closed when you stop iterating.
        """
        current = self.snapshot()
        last = snapshot_fingerprint(current)
        yield current
        while True:
            await trio.sleep(interval)
            current = self.snapshot()
            fingerprint = snapshot_fingerprint(current)
            if fingerprint != last:
                last = fingerprint
                yield current

"""Supervisors: restart children by Erlang/OTP rules.

A :class:`Supervisor` is an :class:`~actors.actor.Actor` that owns a nursery and runs its
children in it. Each child is described by a :class:`ChildSpec`; its restart type decides
whether it comes back after it exits (``PERMANENT``: always, even after a normal exit;
``TRANSIENT``: only after a crash; ``TEMPORARY``: never), and the supervisor's
:class:`Strategy` decides which siblings restart with it. More than ``max_restarts``
restarts within ``within`` seconds make the supervisor stop all children (reverse start
order) and fail with :class:`~actors.errors.SupervisorGaveUp`, which its own parent sees
as a crash of that child.

Example::

    root = Supervisor(
        [ChildSpec("store", Store), ChildSpec("rooms", lambda: Supervisor([...]))],
        strategy=Strategy.ONE_FOR_ONE, max_restarts=3, within=5.0,
    )
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trio

from .actor import Actor, ActorRef
from .backoff import Backoff
from .calls import StartChild, TerminateChild, WhichChildren, start_failed
from .cell import ActorCell
from .errors import SupervisorGaveUp
from .spec import NON_ESSENTIAL_BACKOFF, NON_ESSENTIAL_MEMORY, ChildSpec, Restart, Strategy

__all__ = ["Backoff", "ChildSpec", "Restart", "Strategy", "Supervisor"]


class _Child:
    """The supervisor's bookkeeping for one child (touched only by the supervisor)."""

    def __init__(self, spec: ChildSpec, cell: ActorCell) -> None:
        self.spec = spec
        self.cell = cell
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.done.set()
        self.stopping = False
        self.restart_times: deque[float] = deque()


@dataclass(frozen=True)
class _Exit:
    child: _Child
    incarnation: int
    error: Exception | None


class Supervisor(Actor):
    """An actor that starts, watches and restarts children.

    Args:
        children: Started in order when the supervisor starts.
        strategy: Which siblings restart with a child.
        max_restarts: Restarts allowed within ``within`` seconds; one more gives up.
        within: The intensity window in seconds (trio clock).
        backoff: Delay before restarts.

    Others reach it by message (:mod:`actors.calls`: ``StartChild``, ``TerminateChild``,
    ``WhichChildren``), served from its mailbox next to the supervision loop. Subclasses
    may handle more messages and call :meth:`start_child` / :meth:`terminate_child` from
    their own ``handle``; nothing outside the supervisor's task calls them.
    """

    def __init__(
        self,
        children: Sequence[ChildSpec] = (),
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        within: float = 5.0,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen dataclass, safe default
    ) -> None:
        names = [spec.name for spec in children]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate child names in {names}")
        if max_restarts < 0 or within <= 0:
            raise ValueError("max_restarts must be >= 0 and within > 0")
        self.specs = list(children)
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.within = within
        self.backoff = backoff
        self._children: dict[str, _Child] = {}
        self._nursery: trio.Nursery | None = None

    _reports_started = True

    # -- public API ---------------------------------------------------------------

    def children(self) -> list[str]:
        """Names of the current children, in start order."""
        return list(self._children)

    def child_ref(self, name: str) -> ActorRef[Any] | None:
        """The ref of child ``name``, or ``None`` if there is no such child."""
        child = self._children.get(name)
        return None if child is None else child.cell.ref

    async def start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        """Add and start a child; return once its ``on_start`` has completed.

        Raises:
            ValueError: If a child with this name exists or its registry name is taken.
            RuntimeError: If the supervisor is not running or is stopping.
            Exception: Whatever the child's factory or ``on_start`` raised (the child is
                then removed, not restarted).
        """
        if self._nursery is None or self.stopping:
            raise RuntimeError(f"supervisor {self.path} is not running")
        async with self._lock:
            if spec.name in self._children:
                raise ValueError(f"{self.path} already has a child named {spec.name!r}")
            actor = spec.factory()
            cell = ActorCell(
                self.system,
                spec.name,
                f"{self.path}/{spec.name}",
                spec.mailbox_capacity or type(actor).mailbox_capacity,
                spec.overflow or type(actor).overflow,
            )
            if spec.register is not None:
                self.system.registry.register(spec.register, cell.ref)
            child = _Child(spec, cell)
            self._children[spec.name] = child
            error = await self._start_incarnation(child, report=False, actor=actor)
            if error is not None:
                self._remove(child, error)
                raise error
            return cell.ref

    async def terminate_child(self, name: str) -> None:
        """Stop child ``name`` in order (grace, then cancellation) and remove it.

        Raises:
            KeyError: If there is no such child.
        """
        async with self._lock:
            child = self._children[name]
            await self._stop_child(child, final=True)
            self._remove(child, None)

    async def handle(self, message: Any) -> Any:
        """Serve the supervisor calls of :mod:`actors.calls`; anything else is unhandled."""
        match message:
            case StartChild(spec):
                try:
                    return await self.start_child(spec)
                except Exception as exc:  # the caller's start failed, not this supervisor
                    return start_failed(exc)
            case TerminateChild(name):
                if name not in self._children:
                    return False
                await self.terminate_child(name)
                return True
            case WhichChildren():
                return [(name, child.cell.ref) for name, child in self._children.items()]
        return await super().handle(message)

    def introspect(self) -> dict[str, Any]:
        """Strategy and intensity settings, shown under ``info`` in snapshots."""
        return {
            "strategy": self.strategy.value,
            "max_restarts": self.max_restarts,
            "within": self.within,
        }

    # -- running ------------------------------------------------------------------

    async def run(self) -> None:
        """Start the children, supervise them, and shut them down in reverse order."""
        self._lock = trio.Lock()
        self._restart_times: deque[float] = deque()
        self._mailbox_error: BaseException | None = None
        # At most one exit per running incarnation can be in flight, so the number of
        # queued exits is bounded by the number of children.
        send, self._exits = trio.open_memory_channel[_Exit](math.inf)
        self._exit_send = send
        graceful = False
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    for spec in self.specs:
                        await self.start_child(spec)
                    self._signal_started()
                    nursery.start_soon(self._serve_mailbox)
                    await self._supervise()
                    graceful = True
                except Exception:
                    graceful = True
                    raise
                finally:
                    with trio.CancelScope(shield=True) as scope:
                        scope.relative_deadline = self._shutdown_budget(graceful)
                        await self._shutdown(graceful)
                    nursery.cancel_scope.cancel()
        finally:
            self._nursery = None

    async def _serve_mailbox(self) -> None:
        try:
            await Actor.run(self)
        except Exception as exc:  # re-raised by _supervise so children stop in order
            self._mailbox_error = exc
        self.stop()

    async def _supervise(self) -> None:
        while True:
            event: _Exit | None = None
            with self._until_stopping():
                event = await self._exits.receive()
            if self._mailbox_error is not None:
                raise self._mailbox_error
            if event is None:
                return
            async with self._lock:
                await self._handle_exit(event)

    def _child_cells(self) -> list[ActorCell]:
        return [child.cell for child in self._children.values()]

    # -- restarts -----------------------------------------------------------------

    async def _start_incarnation(
        self, child: _Child, *, report: bool, actor: Actor | None = None
    ) -> Exception | None:
        """Start one incarnation; return the start error (also reported if ``report``)."""
        assert self._nursery is not None
        cell = child.cell
        try:
            actor = child.spec.factory() if actor is None else actor
        except Exception as exc:
            cell.record_error(exc)
            cell.status = "failed"
            if report:
                self._exit_send.send_nowait(_Exit(child, cell.incarnation, exc))
            return exc
        cell.prepare(actor)
        child.scope = trio.CancelScope()
        child.done = trio.Event()
        child.stopping = False
        error: Exception | None = await self._nursery.start(self._child_main, child, report)
        return error

    async def _child_main(
        self, child: _Child, report: bool, *, task_status: trio.TaskStatus[Exception | None]
    ) -> None:
        cell = child.cell
        incarnation = cell.incarnation
        started, error = False, None
        try:
            with child.scope:
                started, error = await cell.run_guarded(task_status=task_status)
        finally:
            cell.status = "failed" if error is not None else "stopped"
            child.done.set()
        if child.stopping or (not started and not report):
            return
        self._exit_send.send_nowait(_Exit(child, incarnation, error))

    async def _handle_exit(self, event: _Exit) -> None:
        child = event.child
        if self._children.get(child.spec.name) is not child:
            return
        if event.incarnation != child.cell.incarnation or not child.done.is_set():
            return  # stale: that incarnation was already replaced by a group restart
        spec, error = child.spec, event.error
        if spec.restart is Restart.TEMPORARY or (
            spec.restart is Restart.TRANSIENT and error is None
        ):
            self._remove(child, error)
            return
        now = trio.current_time()
        if not spec.essential:
            self._schedule_non_essential_restart(child)
            return
        self._restart_times.append(now)
        _forget_before(self._restart_times, now - self.within)
        if len(self._restart_times) > self.max_restarts:
            raise SupervisorGaveUp(
                f"{self.path}: more than {self.max_restarts} restarts within {self.within}s"
                f" (last: {spec.name})",
                cause=error,
            )
        child.restart_times.append(now)
        _forget_before(child.restart_times, now - self.within)
        affected = self._affected(child)
        for sibling in reversed(affected):
            await self._stop_child(sibling, final=False)
            sibling.cell.status = "restarting"
        for sibling in affected:
            if sibling is not child and sibling.spec.restart is Restart.TEMPORARY:
                self._remove(sibling, None)
        delay = (spec.backoff or self.backoff).delay(len(child.restart_times), self.system.rng)
        if delay > 0:
            with self._until_stopping():
                await trio.sleep(delay)
        for sibling in affected:
            if self.stopping:
                return
            if self._children.get(sibling.spec.name) is sibling:
                sibling.cell.restarts += 1
                await self._start_incarnation(sibling, report=True)

    def _schedule_non_essential_restart(self, child: _Child) -> None:
        """Restart `child` alone after its own growing backoff; never give up on it.

        Its last NON_ESSENTIAL_MEMORY restarts set the delay (a child that stayed up for
        twice the backoff maximum starts the count again). The wait runs in its own task,
        so the supervisor keeps serving its other children and calls meanwhile.
        """
        backoff = child.spec.backoff or NON_ESSENTIAL_BACKOFF
        now = trio.current_time()
        if child.restart_times and now - child.restart_times[-1] > 2 * backoff.maximum:
            child.restart_times.clear()
        child.restart_times.append(now)
        while len(child.restart_times) > NON_ESSENTIAL_MEMORY:
            child.restart_times.popleft()
        child.cell.status = "restarting"
        delay = backoff.delay(len(child.restart_times), self.system.rng)
        assert self._nursery is not None
        self._nursery.start_soon(self._restart_later, child, child.cell.incarnation, delay)

    async def _restart_later(self, child: _Child, incarnation: int, delay: float) -> None:
        with self._until_stopping():
            await trio.sleep(delay)
        async with self._lock:
            current = self._children.get(child.spec.name) is child
            if self.stopping or not current or child.cell.incarnation != incarnation:
                return
            child.cell.restarts += 1
            await self._start_incarnation(child, report=True)

    def _affected(self, child: _Child) -> list[_Child]:
        """The children to restart with ``child``, in start order."""
        if self.strategy is Strategy.ONE_FOR_ONE:
            return [child]
        order = list(self._children.values())
        if self.strategy is Strategy.ONE_FOR_ALL:
            return order
        return order[order.index(child) :]

    async def _stop_child(self, child: _Child, *, final: bool) -> None:
        """Ask ``child`` to stop, wait its grace period, then cancel it."""
        if final:
            child.cell.mailbox.close()
        if child.done.is_set():
            return
        child.stopping = True
        child.cell.status = "stopping"
        assert child.cell.actor is not None
        child.cell.actor._request_stop()
        with trio.move_on_after(child.spec.shutdown_timeout):
            await child.done.wait()
        child.scope.cancel()
        await child.done.wait()

    def _remove(self, child: _Child, cause: BaseException | None) -> None:
        """Terminate ``child`` for good: fail queued asks, unregister, forget it."""
        cell = child.cell
        cell.fail_queued(cause)
        cell.status = "failed" if cause is not None else "stopped"
        if child.spec.register is not None:
            self.system.registry.unregister(child.spec.register, cell.ref)
        if self._children.get(child.spec.name) is child:
            del self._children[child.spec.name]

    def _shutdown_budget(self, graceful: bool) -> float:
        """Upper bound for shutting every child down (the shielded cleanup's deadline)."""
        per_child = [
            (child.spec.shutdown_timeout if graceful else 0.0) + _ON_STOP_SLACK
            for child in self._children.values()
        ]
        return sum(per_child) + _ON_STOP_SLACK

    async def _shutdown(self, graceful: bool) -> None:
        """Stop all children in reverse start order: orderly, or by cancellation."""
        for child in reversed(list(self._children.values())):
            if graceful:
                await self._stop_child(child, final=True)
            else:
                child.cell.mailbox.close()
                child.stopping = True
                child.scope.cancel()
                await child.done.wait()
            self._remove(child, None)


# Time allowed per child beyond its grace period, for its cancelled on_stop.
_ON_STOP_SLACK = 5.0


def _forget_before(times: deque[float], cutoff: float) -> None:
    while times and times[0] <= cutoff:
        times.popleft()

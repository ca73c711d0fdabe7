"""The cell: an actor's stable identity, shared by all its incarnations.

A cell owns the name, path, mailbox and counters of one supervised child. Its
:class:`~actors.actor.ActorRef` stays valid across restarts because it points here, not at
an :class:`~actors.actor.Actor` instance. Supervisors (and the system, for the root) run
each incarnation through :meth:`ActorCell.run_guarded`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from .errors import ActorDied, MailboxFull, unwrap_exception
from .mailbox import Mailbox, OverflowPolicy
from .ref import ActorRef
from .reply import Envelope, Reply

if TYPE_CHECKING:
    from .actor import Actor
    from .system import ActorSystem

__all__ = ["ActorCell", "ErrorInfo"]

STATUSES = ("starting", "running", "restarting", "stopping", "stopped", "failed")


@dataclass(frozen=True)
class ErrorInfo:
    """The last crash of a cell, as shown in snapshots."""

    type: str
    message: str
    at: float

    def as_dict(self) -> dict[str, Any]:
        """The JSON-able form used in snapshots."""
        return {"type": self.type, "message": self.message, "at": self.at}


class ActorCell:
    """Name, path, mailbox and counters of one actor across its restarts.

    Args:
        system: The system the actor belongs to.
        name: Name among siblings.
        path: Full path in the tree.
        capacity: Mailbox capacity.
        policy: Mailbox overflow policy.
    """

    def __init__(
        self,
        system: ActorSystem,
        name: str,
        path: str,
        capacity: int,
        policy: OverflowPolicy,
    ) -> None:
        self.system = system
        self.name = name
        self.path = path
        self.mailbox: Mailbox[Envelope] = Mailbox(capacity, policy, on_drop=self._on_drop)
        self.ref: ActorRef[Any] = ActorRef(self)
        self.actor: Actor | None = None
        self.kind = "?"
        self.status = "starting"
        self.restarts = 0
        self.handled = 0
        self.incarnation = 0
        self.started_at: float | None = None
        self.last_error: ErrorInfo | None = None
        self.terminated = False
        self._deferred: set[Reply[Any]] = set()

    def _on_drop(self, envelope: Envelope) -> None:
        if envelope.reply is not None:
            envelope.reply.fail_if_pending(
                MailboxFull(f"request dropped by the full mailbox of {self.path}")
            )

    def died(self, cause: BaseException | None) -> ActorDied:
        """An :class:`ActorDied` for an asker of this actor."""
        return ActorDied(f"{self.path} died", cause=cause)

    def track_deferred(self, reply: Reply[Any]) -> None:
        """Remember a deferred reply so it fails if this incarnation ends unanswered."""
        self._deferred.add(reply)
        reply._on_done = self._deferred.discard

    def record_error(self, exc: BaseException) -> None:
        """Remember ``exc`` as the last error (type, message, trio time)."""
        self.last_error = ErrorInfo(type(exc).__name__, str(exc), trio.current_time())

    def uptime(self) -> float:
        """Seconds since the current incarnation started; 0 when none is running."""
        if self.started_at is None:
            return 0.0
        return trio.current_time() - self.started_at

    def prepare(self, actor: Actor) -> None:
        """Bind ``actor`` as the next incarnation (synchronously, before its task runs)."""
        self.actor = actor
        self.kind = type(actor).kind or type(actor).__name__
        self.incarnation += 1
        actor._bind(self)
        self.status = "starting"

    async def _run_incarnation(self, actor: Actor, on_started: Callable[[], None]) -> None:
        self.started_at = trio.current_time()
        exit_exc: BaseException | None = None

        def started() -> None:
            if self.status == "starting":
                self.status = "running"
            on_started()

        actor._on_started = started
        try:
            await actor.on_start()
            if not actor._reports_started:
                actor._signal_started()
            await actor.run()
        except BaseException as exc:
            exit_exc = exc
            raise
        finally:
            stop_error = await self._call_on_stop(actor)
            cause = unwrap_exception(exit_exc) if exit_exc is not None else stop_error
            if cause is not None and not isinstance(cause, Exception):
                cause = None
            for reply in list(self._deferred):
                reply.fail_if_pending(self.died(cause))
            self._deferred.clear()
            self.started_at = None
            if stop_error is not None and exit_exc is None:
                raise stop_error

    async def _call_on_stop(self, actor: Actor) -> Exception | None:
        with trio.CancelScope(shield=True) as scope:
            scope.relative_deadline = actor.on_stop_timeout
            try:
                await actor.on_stop()
            except Exception as exc:  # reported as the crash of a clean exit
                return exc
        return None

    async def run_guarded(
        self, *, task_status: trio.TaskStatus[Exception | None]
    ) -> tuple[bool, Exception | None]:
        """Run the prepared incarnation; return ``(started, crash)``.

        ``crash`` is the exception that ended it (unwrapped from one-leaf groups) or
        ``None`` for a normal exit. ``task_status.started`` is called with ``None`` once
        ``on_start`` succeeded, or with the exception if ``on_start`` failed. Cancellation
        and non-``Exception`` errors propagate; an ``Exception`` raised together with a
        cancellation is recorded as ``last_error`` and the cancellation wins.
        """
        actor = self.actor
        assert actor is not None, "prepare() first"
        started = False

        def on_started() -> None:
            nonlocal started
            started = True
            task_status.started(None)

        error: Exception | None = None
        try:
            await self._run_incarnation(actor, on_started)
        except* Exception as group:
            leaf = unwrap_exception(group)
            error = leaf if isinstance(leaf, Exception) else group
            self.record_error(error)
        if not started:
            task_status.started(error)
        return started, error

    def fail_queued(self, cause: BaseException | None) -> None:
        """Close the mailbox for good and fail every queued ask with ActorDied."""
        self.terminated = True
        for envelope in self.mailbox.close_and_drain():
            if envelope.reply is not None:
                envelope.reply.fail_if_pending(self.died(cause))

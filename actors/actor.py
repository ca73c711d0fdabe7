"""The :class:`Actor` base class: an object whose state is touched only by its own task.

An actor is started by a supervisor, which binds it to an :class:`~actors.cell.ActorCell`
(``cell.py``): the stable identity of a child (name, path, mailbox, counters). Others
reach it through its :class:`~actors.ref.ActorRef` (``ref.py``) or a registry
:class:`~actors.registry.Address`. When the child crashes and is restarted, the supervisor
calls the child's factory for a fresh ``Actor`` that reads *the same* mailbox, so messages
queued during the crash are not lost and every :class:`ActorRef` stays valid.

Example::

    @dataclass(frozen=True)
    class Add:
        n: int

    class Counter(Actor):
        def __init__(self) -> None:
            self.total = 0

        async def handle(self, message: Any) -> Any:
            match message:
                case Add(n):
                    self.total += n
                    return self.total
            return await super().handle(message)

    total = await counter_ref.ask(Add(2), timeout=1.0)

Custom loops: an actor that needs several tasks overrides :meth:`Actor.run`, opens its own
nursery and drives the mailbox with :meth:`Actor.receive` (``None`` means "stop now") and
:meth:`Actor.dispatch`::

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read_socket)
            while (envelope := await self.receive()) is not None:
                await self.dispatch(envelope)
            nursery.cancel_scope.cancel()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import trio

from .cell import ActorCell
from .errors import InjectedCrash, MailboxClosed, UnhandledMessage
from .mailbox import OverflowPolicy
from .ref import ActorRef, Crash
from .reply import Envelope, Reply

if TYPE_CHECKING:
    from .system import ActorSystem

__all__ = ["Actor", "ActorCell", "ActorRef", "Crash", "Envelope", "Reply"]


class Actor:
    """Base class of every actor (supervisors included).

    Subclasses override :meth:`handle` and optionally :meth:`on_start`, :meth:`on_stop`,
    :meth:`introspect` and :meth:`run`. Runtime properties (:attr:`ref`, :attr:`system`,
    :attr:`name`, :attr:`path`, :attr:`stop_requested`) are usable from ``on_start`` on;
    ``__init__`` need not call ``super().__init__()``.

    Class attributes:
        kind: Shown in snapshots; defaults to the class name.
        mailbox_capacity: Default mailbox capacity (a ChildSpec may override it).
        overflow: Default overflow policy (a ChildSpec may override it).
        on_stop_timeout: Seconds ``on_stop`` may run (shielded) before it is cancelled.
    """

    kind: ClassVar[str | None] = None
    mailbox_capacity: ClassVar[int] = 64
    overflow: ClassVar[OverflowPolicy] = OverflowPolicy.BLOCK
    on_stop_timeout: ClassVar[float] = 2.0

    _cell: ActorCell | None = None
    # True for actors whose run() reports "started" itself (supervisors: after their
    # initial children started), instead of the runtime doing it after on_start().
    _reports_started: ClassVar[bool] = False

    def _bind(self, cell: ActorCell) -> None:
        self._cell = cell
        self._on_started: Callable[[], None] | None = None
        self._stop_called = False
        self._stop_event = trio.Event()
        self._stop_scopes: set[trio.CancelScope] = set()
        self._current: Reply[Any] | None = None
        self._deferred = False

    def _bound(self) -> ActorCell:
        if self._cell is None:
            raise RuntimeError(f"{type(self).__name__} has not been started by a supervisor")
        return self._cell

    @property
    def ref(self) -> ActorRef[Any]:
        """This actor's address."""
        return self._bound().ref

    @property
    def system(self) -> ActorSystem:
        """The system this actor runs in."""
        return self._bound().system

    @property
    def name(self) -> str:
        """This actor's name among its siblings."""
        return self._bound().name

    @property
    def path(self) -> str:
        """This actor's path in the tree."""
        return self._bound().path

    @property
    def stop_requested(self) -> trio.Event:
        """Set when the supervisor asks this actor to stop gracefully."""
        self._bound()
        return self._stop_event

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called or a stop was requested."""
        return self._cell is not None and (self._stop_called or self._stop_event.is_set())

    def _signal_started(self) -> None:
        """Runtime: this incarnation has started (its starter may proceed). Idempotent."""
        callback, self._on_started = self._on_started, None
        if callback is not None:
            callback()

    def _request_stop(self) -> None:
        """Runtime: ask for a graceful stop; wakes a pending :meth:`receive`."""
        self._stop_event.set()
        self._cancel_stop_scopes()

    def _cancel_stop_scopes(self) -> None:
        for scope in self._stop_scopes:
            scope.cancel()

    @contextmanager
    def _until_stopping(self) -> Iterator[trio.CancelScope]:
        """A cancel scope that is cancelled as soon as this actor is stopping."""
        with trio.CancelScope() as scope:
            self._stop_scopes.add(scope)
            try:
                if self.stopping:
                    scope.cancel()
                yield scope
            finally:
                self._stop_scopes.discard(scope)

    async def on_start(self) -> None:
        """Called before the first message of every incarnation. Raising crashes it."""

    async def on_stop(self) -> None:
        """Called once when an incarnation ends for any reason (exit, crash, stop, cancel).

        Runs shielded from cancellation, with a deadline of :attr:`on_stop_timeout`.
        """

    async def handle(self, message: Any) -> Any:
        """Handle one message; the return value answers an ask.

        Raises:
            UnhandledMessage: The default: an actor crashes on a message it does not know.
        """
        raise UnhandledMessage(f"{type(self).__name__} cannot handle {message!r}")

    def defer_reply(self) -> Reply[Any]:
        """Take over the reply to the ask being handled, to answer it later.

        The runtime then does not answer it when :meth:`handle` returns. If this
        incarnation ends before answering, the asker gets :class:`ActorDied`.

        Raises:
            RuntimeError: If the current message is a tell or no message is being handled.
        """
        reply = self._current
        if reply is None:
            raise RuntimeError("defer_reply() outside handling an ask")
        self._deferred = True
        self._bound().track_deferred(reply)
        return reply

    def stop(self) -> None:
        """Exit normally after the current message (the restart type decides what next)."""
        self._stop_called = True
        if self._cell is not None:
            self._cancel_stop_scopes()

    def introspect(self) -> dict[str, Any]:
        """Actor-specific JSON-able details for snapshots (``info``). Default: empty."""
        return {}

    async def receive(self) -> Envelope | None:
        """Wait for the next envelope; ``None`` once this actor should stop.

        Returns ``None`` when :meth:`stop` was called, a stop was requested (even while
        waiting), or the mailbox is closed and drained. Cancellation takes nothing.

        Raises:
            InjectedCrash: the message was :class:`Crash`, so every loop built on
                ``receive`` crashes on it and its supervisor's handling can be watched.
        """
        cell = self._bound()
        with self._until_stopping():
            try:
                envelope = await cell.mailbox.get()
            except MailboxClosed:
                return None
            if isinstance(envelope.message, Crash):
                raise InjectedCrash(envelope.message.reason)
            return envelope
        return None

    async def receive_batch(
        self, *, max_size: int, max_wait: float, size: Callable[[Any], int] | None = None
    ) -> list[Envelope] | None:
        """Micro-batching: wait for one envelope, then gather more for a while.

        After the first envelope arrives, keeps receiving until the batch holds
        ``max_size`` units (``size(message)`` each, default 1) or ``max_wait`` seconds
        have passed. The caller answers each envelope's ``reply`` itself; the batch
        counts as handled. Returns ``None`` once this actor should stop (as
        :meth:`receive`); a stop while gathering returns what was gathered. A crash
        while gathering (a :class:`Crash`, or cancellation) fails the asks already
        gathered with :class:`ActorDied` at once: nobody else will answer them.
        """
        first = await self.receive()
        if first is None:
            return None
        measure = size or (lambda _message: 1)
        batch = [first]
        units = measure(first.message)
        try:
            with trio.move_on_after(max_wait):
                while units < max_size:
                    envelope = await self.receive()
                    if envelope is None:
                        break
                    batch.append(envelope)
                    units += measure(envelope.message)
        except BaseException as exc:
            cause = exc if isinstance(exc, Exception) else None
            for envelope in batch:
                if envelope.reply is not None:
                    envelope.reply.fail_if_pending(self._bound().died(cause))
            raise
        self._bound().handled += len(batch)
        return batch

    async def dispatch(self, item: Envelope | Any) -> None:
        """Handle one envelope (or bare message, as a tell) and answer its ask.

        If :meth:`handle` raises, the asker gets :class:`ActorDied` with the exception as
        ``cause`` and the exception propagates (the actor crashes).
        """
        cell = self._bound()
        envelope = item if isinstance(item, Envelope) else Envelope(item)
        reply = envelope.reply
        self._current, self._deferred = reply, False
        try:
            result = await self.handle(envelope.message)
        except BaseException as exc:
            if reply is not None:
                cause = exc if isinstance(exc, Exception) else None
                reply.fail_if_pending(cell.died(cause))
            raise
        else:
            if reply is not None and not self._deferred and not reply.done:
                reply.send(result)
        finally:
            self._current = None
            cell.handled += 1

    async def run(self) -> None:
        """Receive and dispatch messages until stopped. Override for custom loops."""
        while (envelope := await self.receive()) is not None:
            await self.dispatch(envelope)

    def _child_cells(self) -> list[ActorCell]:
        """Cells of supervised children (for snapshots); none for plain actors."""
        return []


ActorFactory = Callable[[], Actor]

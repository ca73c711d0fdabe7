"""Actor addresses: :class:`ActorRef` (tell, tell_nowait, ask) and the :class:`Crash` message.

A ref points at an actor's cell, which outlives restarts, so a ref stays valid while its
actor is restarted and only stops working once the actor has terminated for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import trio

from .errors import ActorNotRunning, AskTimeout, MailboxClosed
from .mailbox import MailboxStatistics
from .reply import Envelope, Reply

if TYPE_CHECKING:
    from .cell import ActorCell

__all__ = ["ActorRef", "Crash"]

M = TypeVar("M")


@dataclass(frozen=True)
class Crash:
    """Fault injection: an actor that receives this raises :class:`InjectedCrash`.

    Lets an operator (or a test) crash a live actor on purpose to watch its supervisor
    restart it. The application decides who may send it.
    """

    reason: str = "crash requested"


class ActorRef(Generic[M]):
    """The address of an actor: send it messages with :meth:`tell` and :meth:`ask`.

    A ref points at a cell, not at an actor instance, so it stays valid across restarts.
    Refs compare equal when they point at the same cell.
    """

    __slots__ = ("_cell",)

    def __init__(self, cell: ActorCell) -> None:
        self._cell = cell

    @property
    def name(self) -> str:
        """The actor's name among its siblings."""
        return self._cell.name

    @property
    def path(self) -> str:
        """The actor's path in the tree, e.g. ``/system/rooms/main``."""
        return self._cell.path

    @property
    def alive(self) -> bool:
        """False once the actor has terminated for good (restarting counts as alive)."""
        return not self._cell.terminated

    def statistics(self) -> MailboxStatistics:
        """Statistics of the actor's mailbox."""
        return self._cell.mailbox.statistics()

    def _check(self) -> None:
        if self._cell.terminated or self._cell.mailbox.closed:
            raise ActorNotRunning(f"{self.path} is not running")

    async def tell(self, message: M) -> None:
        """Send ``message`` without waiting for an answer.

        Follows the mailbox's overflow policy (``BLOCK`` waits for room).

        Raises:
            ActorNotRunning: If the actor terminated for good or is shutting down.
            MailboxFull: If the mailbox is full and its policy is ``FAIL``.
        """
        self._check()
        try:
            await self._cell.mailbox.put(Envelope(message))
        except MailboxClosed:
            raise ActorNotRunning(f"{self.path} is not running") from None

    def tell_nowait(self, message: M) -> None:
        """Send ``message`` without waiting for room.

        Raises:
            ActorNotRunning: If the actor terminated for good or is shutting down.
            MailboxFull: If the mailbox is full and its policy is ``BLOCK`` or ``FAIL``.
        """
        self._check()
        try:
            self._cell.mailbox.put_nowait(Envelope(message))
        except MailboxClosed:
            raise ActorNotRunning(f"{self.path} is not running") from None

    async def ask(self, message: M, timeout: float) -> Any:  # noqa: ASYNC109 - public API
        """Send ``message`` and wait for the actor's answer.

        The timeout covers waiting for mailbox room too. A request that times out stays
        queued and is still handled; its answer is discarded.

        Raises:
            AskTimeout: If no answer arrived within ``timeout`` seconds.
            ActorDied: Promptly, if the actor crashed while handling (or holding a deferred
                reply to) this request, or terminated for good with it queued. ``cause`` is
                the exception ``handle()`` raised, if any.
            ActorNotRunning: If the actor terminated for good before the request was queued.
            MailboxFull: If the mailbox is full under ``FAIL``, or the request was dropped
                by ``DROP_NEWEST`` or evicted by ``DROP_OLDEST``.
        """
        self._check()
        reply: Reply[Any] = Reply()
        with trio.move_on_after(timeout):
            try:
                await self._cell.mailbox.put(Envelope(message, reply))
            except MailboxClosed:
                raise ActorNotRunning(f"{self.path} is not running") from None
            return await reply.wait()
        raise AskTimeout(f"no answer from {self.path} within {timeout}s")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorRef) and other._cell is self._cell

    def __hash__(self) -> int:
        return id(self._cell)

    def __repr__(self) -> str:
        return f"<ActorRef {self.path}>"

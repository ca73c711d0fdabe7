"""One-shot replies and the envelopes that carry messages through a mailbox.

An ask puts an :class:`Envelope` holding the message and a fresh :class:`Reply` into the
actor's mailbox, then waits on the reply. The runtime answers it with the return value of
``handle()``, or the actor takes it over with ``defer_reply()`` and answers it later. Tells
travel in envelopes too, with ``reply=None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import trio

__all__ = ["Envelope", "Reply"]

R = TypeVar("R")


class Reply(Generic[R]):
    """A one-shot answer slot: completed exactly once by :meth:`send` or :meth:`fail`.

    Completing it twice raises :class:`RuntimeError`, which crashes the actor that did it:
    answering twice is a bug. Sending to an asker that already timed out is harmless.
    """

    __slots__ = ("_error", "_event", "_on_done", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: R | None = None
        self._error: BaseException | None = None
        self._on_done: Callable[[Reply[R]], None] | None = None

    @property
    def done(self) -> bool:
        """Whether the reply has been sent or failed."""
        return self._event.is_set()

    def _complete(self) -> None:
        self._event.set()
        callback, self._on_done = self._on_done, None
        if callback is not None:
            callback(self)

    def send(self, value: R) -> None:
        """Answer the asker with ``value``.

        Raises:
            RuntimeError: If the reply was already completed.
        """
        if self.done:
            raise RuntimeError("reply already completed")
        self._value = value
        self._complete()

    def fail(self, exc: BaseException) -> None:
        """Make the asker's ``ask`` raise ``exc``.

        Raises:
            RuntimeError: If the reply was already completed.
        """
        if self.done:
            raise RuntimeError("reply already completed")
        self._error = exc
        self._complete()

    def fail_if_pending(self, exc: BaseException) -> None:
        """Fail the reply unless it is already completed (used by the runtime)."""
        if not self.done:
            self.fail(exc)

    async def wait(self) -> R:
        """Wait for the answer and return it, or raise the failure.

        Cancellation while waiting leaves the reply untouched.
        """
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


@dataclass(slots=True)
class Envelope:
    """A message in a mailbox, with the reply slot of its asker (``None`` for a tell)."""

    message: Any
    reply: Reply[Any] | None = None

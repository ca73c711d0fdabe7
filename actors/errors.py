"""The actor runtime's exception hierarchy.

Every error the runtime raises on purpose derives from :class:`ActorError`, so callers can
catch the whole family with one clause::

    try:
        answer = await ref.ask(Query(), timeout=1.0)
    except AskTimeout:
        ...  # the actor is alive but slow
    except ActorError:
        ...  # it died, stopped, or its mailbox refused the message
"""

from __future__ import annotations

__all__ = [
    "ActorDied",
    "ActorError",
    "ActorNotRunning",
    "AskTimeout",
    "InjectedCrash",
    "MailboxClosed",
    "MailboxFull",
    "SupervisorGaveUp",
    "UnhandledMessage",
]


class ActorError(Exception):
    """Base class of every error raised by the actor runtime."""


class MailboxFull(ActorError):
    """A mailbox refused a message because it is at capacity.

    Raised by ``put_nowait``/``tell_nowait`` under the ``BLOCK`` and ``FAIL`` policies, by
    ``put``/``tell`` under ``FAIL``, and to an asker whose queued request was evicted by
    ``DROP_OLDEST`` or discarded by ``DROP_NEWEST``.
    """


class MailboxClosed(ActorError):
    """The mailbox is closed: no more puts, and gets once it has been drained."""


class ActorDied(ActorError):
    """An ask will never be answered because the actor crashed or stopped.

    Attributes:
        cause: The exception that crashed the actor, or ``None`` when it stopped normally
            or was cancelled.
    """

    def __init__(self, message: str = "actor died", *, cause: BaseException | None = None):
        super().__init__(message if cause is None else f"{message}: {cause!r}")
        self.cause = cause


class ActorNotRunning(ActorError):
    """``tell``/``ask`` to an actor that has terminated for good (it will not restart)."""


class AskTimeout(ActorError, TimeoutError):
    """No answer to an ask arrived within its timeout."""


class UnhandledMessage(ActorError):
    """An actor received a message its ``handle`` does not understand (it crashes)."""


class InjectedCrash(ActorError):
    """Raised by an actor that received :class:`actors.Crash` (fault injection)."""


class SupervisorGaveUp(ActorError):
    """A supervisor exceeded its restart intensity and terminated itself.

    Attributes:
        cause: The exception of the crash that exceeded the intensity (``None`` when the
            last exit that needed a restart was a normal one).
    """

    def __init__(self, message: str, *, cause: BaseException | None = None):
        super().__init__(message)
        self.cause = cause


def unwrap_exception(exc: BaseException) -> BaseException:
    """Return the single real exception inside nested one-leaf exception groups.

    Trio nurseries always raise :class:`BaseExceptionGroup`; a crash inside an actor's own
    nursery arrives as ``ExceptionGroup([ValueError(...)])``. Supervisors record and report
    the leaf so ``last_error`` and :class:`ActorDied.cause` name the real error. A group
    with several leaves is returned as is.
    """
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc

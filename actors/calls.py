"""Calls to a supervisor, as messages: start, terminate and list children from outside.

In Erlang/OTP, ``supervisor:start_child/2`` is a *call* to the supervisor process, not a
function that touches its state. The same here: other actors and request handlers reach a
supervisor only through its :class:`~actors.ref.ActorRef` (or a registry
:class:`~actors.registry.Address`), and the supervisor changes its children from its own
task. A start that fails is answered with the error, which the calling function raises
in the caller; the supervisor itself keeps running.

Example::

    ref = await start_child(connections, ChildSpec("conn-7", lambda: conn), timeout=5)
    names = await which_children(connections, timeout=5)
    await terminate_child(connections, "conn-7", timeout=5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .ref import ActorRef
from .spec import ChildSpec

__all__ = [
    "StartChild",
    "TerminateChild",
    "WhichChildren",
    "start_child",
    "terminate_child",
    "which_children",
]


class _Askable(Protocol):
    async def ask(self, message: Any, timeout: float) -> Any: ...  # noqa: ASYNC109


@dataclass(frozen=True)
class StartChild:
    """Ask: add and start a child; answers its ref, or the exception its start raised."""

    spec: ChildSpec


@dataclass(frozen=True)
class TerminateChild:
    """Ask: stop child ``name`` in order and remove it; answers True, or False if unknown."""

    name: str


@dataclass(frozen=True)
class WhichChildren:
    """Ask: the current children as ``[(name, ref), ...]`` in start order."""


@dataclass(frozen=True)
class _StartFailed:
    error: Exception


async def start_child(
    supervisor: _Askable,
    spec: ChildSpec,
    *,
    timeout: float,  # noqa: ASYNC109 - bounds the call, as ask does
) -> ActorRef[Any]:
    """Start ``spec`` under ``supervisor``; return once the child's ``on_start`` is done.

    Raises:
        ValueError: A child with that name exists, or its registry name is taken.
        RuntimeError: The supervisor is stopping.
        Exception: Whatever the child's factory or ``on_start`` raised.
        ActorError: The supervisor could not be asked (not running, full, timed out).
    """
    answer = await supervisor.ask(StartChild(spec), timeout=timeout)
    if isinstance(answer, _StartFailed):
        raise answer.error
    assert isinstance(answer, ActorRef)
    return answer


async def terminate_child(supervisor: _Askable, name: str, *, timeout: float) -> bool:  # noqa: ASYNC109
    """Stop child ``name`` of ``supervisor`` in order; False if there was no such child."""
    return bool(await supervisor.ask(TerminateChild(name), timeout=timeout))


async def which_children(
    supervisor: _Askable,
    *,
    timeout: float,  # noqa: ASYNC109
) -> list[tuple[str, ActorRef[Any]]]:
    """The children of ``supervisor``, in start order."""
    answer: list[tuple[str, ActorRef[Any]]] = await supervisor.ask(WhichChildren(), timeout=timeout)
    return answer


def start_failed(error: Exception) -> _StartFailed:
    """The answer a supervisor gives to a StartChild whose start raised ``error``."""
    return _StartFailed(error)

"""Child specifications: how a supervisor starts and restarts a child.

See :mod:`actors.supervisor` for the semantics, which follow Erlang/OTP.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .backoff import Backoff
from .mailbox import OverflowPolicy

if TYPE_CHECKING:
    from .actor import Actor

__all__ = ["NON_ESSENTIAL_BACKOFF", "ChildSpec", "Restart", "Strategy"]

# A crash-looping non-essential child is retried ever more slowly, up to once a minute.
NON_ESSENTIAL_BACKOFF = Backoff(initial=0.5, maximum=60.0, multiplier=2.0, jitter=0.1)
# How many of its own restarts a non-essential child is judged by: enough for its
# backoff to reach the maximum and stay there while it keeps crashing.
NON_ESSENTIAL_MEMORY = 12


class Strategy(enum.Enum):
    """Which children restart when one of them must be restarted."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


class Restart(enum.Enum):
    """When a child that exited is restarted."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


@dataclass(frozen=True)
class ChildSpec:
    """How to start and restart one child.

    Attributes:
        name: Unique among siblings; the last segment of the child's path.
        factory: Returns a fresh Actor for every (re)start.
        restart: The restart type.
        shutdown_timeout: Grace period of an orderly stop before the child is cancelled.
        register: Registry name held while the child is alive (kept across restarts).
        mailbox_capacity: Overrides the actor class's ``mailbox_capacity``.
        overflow: Overrides the actor class's ``overflow``.
        essential: ``False`` for a child whose crash loop must never make its supervisor
            give up (a feature the node can run without for a while): its restarts do
            not count toward the supervisor's intensity; it is restarted after
            ``backoff``, growing while it keeps crashing, for as long as it crashes.
        backoff: This child's restart delays, instead of the supervisor's. Non-essential
            children default to :data:`NON_ESSENTIAL_BACKOFF`.
    """

    name: str
    factory: Callable[[], Actor]
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 5.0
    register: str | None = None
    mailbox_capacity: int | None = None
    overflow: OverflowPolicy | None = None
    essential: bool = True
    backoff: Backoff | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"child name must be non-empty without '/': {self.name!r}")
        if self.shutdown_timeout < 0:
            raise ValueError("shutdown_timeout must be >= 0")

"""Child specifications: how a supervisor starts and restarts a child.

See :mod:`actors.supervisor` for the semantics, which follow Erlang/OTP.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .mailbox import OverflowPolicy

if TYPE_CHECKING:
    from .actor import Actor

__all__ = ["ChildSpec", "Restart", "Strategy"]


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
    """

    name: str
    factory: Callable[[], Actor]
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 5.0
    register: str | None = None
    mailbox_capacity: int | None = None
    overflow: OverflowPolicy | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"child name must be non-empty without '/': {self.name!r}")
        if self.shutdown_timeout < 0:
            raise ValueError("shutdown_timeout must be >= 0")

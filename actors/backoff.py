"""Restart backoff: how long a supervisor waits before restarting a child.

The delay before a child's ``n``-th restart within the supervisor's intensity window is
``min(maximum, initial * multiplier ** (n - 1))`` scaled by a random factor in
``[1 - jitter, 1 + jitter]``. The counter ``n`` forgets restarts older than the window, so a
child that stayed up for ``within`` seconds restarts quickly again.

Example::

    Backoff(initial=0.1, maximum=2.0).delay(3, random.Random(1))  # about 0.4 s
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter.

    Attributes:
        initial: Delay before the first restart (0 restarts immediately).
        maximum: Upper bound of the delay before jitter.
        multiplier: Growth factor per restart.
        jitter: Relative random spread, 0.1 means +/-10 %.
    """

    initial: float = 0.0
    maximum: float = 1.0
    multiplier: float = 2.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0 or self.multiplier < 1:
            raise ValueError("Backoff needs initial >= 0, maximum >= 0 and multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("Backoff jitter must be within [0, 1]")

    def delay(self, n: int, rng: random.Random) -> float:
        """The delay in seconds before restart number ``n`` (1-based).

        Args:
            n: Restart number within the intensity window, starting at 1.
            rng: Source of jitter; seed it for reproducible delays.
        """
        base = min(self.maximum, self.initial * self.multiplier ** max(0, n - 1))
        if base <= 0:
            return 0.0
        return base * (1 + self.jitter * (2 * rng.random() - 1))

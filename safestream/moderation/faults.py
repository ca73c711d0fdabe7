"""Model fault injection: a switch that makes every model call fail for a while.

`safestream.node` wraps the node's classifier in a `FaultyModel` only when fault
injection is allowed (demo mode or `FAULT_INJECTION=1`); an admin flips the switch with
`POST /api/admin/faults/model {"seconds": N}` (`safestream/web/routes/faults.py`). While
it is on, every `predict` raises `InjectedModelFailure`, so the moderation workers answer
an outage and each room applies its failure mode (closed: hold; open: deliver marked
`unscored`), as with a real model failure. Without fault injection nothing wraps the
model.

`predict` runs in worker threads and the switch is flipped on the event loop: it holds
one float (the time the fault ends), read and written whole.

Example:
    switch = ModelFaultSwitch()
    model = FaultyModel(load_classifier("keyword"), switch)
    switch.fail_for(5.0)      # every model.predict raises for the next 5 s
    switch.fail_for(0)        # ... or no longer
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from safestream.moderation.classifiers import Classifier, Scores

__all__ = ["MAX_FAULT_SECS", "FaultyModel", "InjectedModelFailure", "ModelFaultSwitch"]

MAX_FAULT_SECS = 600.0


class InjectedModelFailure(RuntimeError):
    """A model call failed on purpose (fault injection)."""


class ModelFaultSwitch:
    """Whether model calls fail now; `fail_for` turns it on for a while (or off)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def fail_for(self, seconds: float) -> float:
        """Fail every model call for `seconds` from now (0 ends a fault); the seconds left.

        Raises:
            ValueError: `seconds` is outside 0..MAX_FAULT_SECS.
        """
        if not 0 <= seconds <= MAX_FAULT_SECS:
            raise ValueError(f"seconds must be between 0 and {MAX_FAULT_SECS:.0f}")
        self._until = self._clock() + seconds if seconds else 0.0
        return self.remaining

    @property
    def remaining(self) -> float:
        """Seconds until model calls succeed again (0 when they do now)."""
        return max(0.0, self._until - self._clock())

    @property
    def failing(self) -> bool:
        return self.remaining > 0


class FaultyModel:
    """A `Classifier` that delegates to `inner` unless its switch is on."""

    def __init__(self, inner: Classifier, switch: ModelFaultSwitch) -> None:
        self.name = inner.name
        self._inner = inner
        self._switch = switch

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._switch.failing:
            raise InjectedModelFailure("model failure injected by an admin")
        return self._inner.predict(texts)

"""Messages that swap the live model of the moderation pool without a restart.

Ask the pool (`ModerationPool`, registered as ``moderation``) `SwapModel(classifier)` —
or call :func:`swap_model` — with a classifier that is already loaded; it answers
`ModelSwapped` once every running worker has answered `UseModel`. See
:mod:`safestream.moderation.pool` for what the pool and the workers do with them.

Example:
    swapped = await swap_model(registry.address("moderation"), new_model, "v2", timeout=60)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safestream.moderation.classifiers import Classifier

__all__ = ["ModelSwapped", "SwapModel", "UseModel", "swap_model"]


@dataclass(frozen=True)
class UseModel:
    """Tell/ask a worker: score later batches with `classifier`; answers its name."""

    classifier: Classifier


@dataclass(frozen=True)
class SwapModel:
    """Ask the pool: make `classifier` the live model of every worker, now and after
    restarts; answers `ModelSwapped`."""

    classifier: Classifier
    version: str = ""


@dataclass(frozen=True)
class ModelSwapped:
    """The pool's answer to `SwapModel`: which model serves now, and on how many workers."""

    model: str
    version: str
    workers: int


async def swap_model(
    pool: Any,
    classifier: Classifier,
    version: str = "",
    *,
    timeout: float,  # noqa: ASYNC109 - bounds the call, as ask does
) -> ModelSwapped:
    """Ask the moderation pool (a ref or registry address) to swap its live model."""
    answer = await pool.ask(SwapModel(classifier, version), timeout=timeout)
    assert isinstance(answer, ModelSwapped)
    return answer

"""Core types of the classifier layer: categories, :class:`Scores`, :class:`Classifier`.

Every model in :mod:`safestream.moderation.classifiers` turns a batch of chat messages into
one :class:`Scores` per message. The moderation pool calls ``predict`` from a worker thread;
policy reads ``Scores.values`` per category, ``Scores.triggers`` to mask words and
``Scores.model`` for the decision log.

Example:
    >>> s = Scores({c: 0.0 for c in CATEGORIES} | {"insult": 0.9}, triggers=("idiot",))
    >>> s.top
    0.9
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, runtime_checkable

CATEGORIES: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
)
"""The categories every classifier scores, in a fixed order (Detoxify's naming)."""


class ModelUnavailable(Exception):
    """A model cannot be loaded here: weights missing, not cached, or a dependency absent.

    Raised by :func:`~safestream.moderation.classifiers.load_classifier` and the
    constructors instead of downloading anything or waiting on the network.
    """


@dataclass(frozen=True)
class Scores:
    """Per-category probabilities for one message.

    Attributes:
        values: a probability in [0, 1] for every name in :data:`CATEGORIES`; a model may add
            extra categories (e.g. Detoxify's ``sexual_explicit``). Stored read-only.
        triggers: the words of the message, as written, that drove the score, where the
            model can tell (keyword list, profanity vocabulary); empty otherwise.
        model: which model produced the scores, for the decision log.
        escalated: a cascade sent this message to its second-opinion model (Detoxify)
            because the bundled models were unsure; counted in ``/metrics``.
    """

    values: Mapping[str, float]
    triggers: tuple[str, ...] = ()
    model: str = ""
    escalated: bool = False

    def __post_init__(self) -> None:
        missing = [c for c in CATEGORIES if c not in self.values]
        if missing:
            raise ValueError(f"Scores is missing categories {missing}")
        clean: dict[str, float] = {}
        for name, value in self.values.items():
            v = float(value)
            if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                raise ValueError(f"score for {name!r} must be in [0, 1], got {value!r}")
            clean[name] = v
        if not all(isinstance(t, str) for t in self.triggers):
            raise TypeError("triggers must be strings")
        object.__setattr__(self, "values", MappingProxyType(clean))
        object.__setattr__(self, "triggers", tuple(self.triggers))

    @property
    def top(self) -> float:
        """The highest score over :data:`CATEGORIES`.

        This is the single ``score`` the original protocol sends: the maximum, not
        ``toxicity``, so a threat written without swear words still counts.
        """
        return max(self.values[c] for c in CATEGORIES)

    def __getitem__(self, category: str) -> float:
        return self.values[category]


def scores_from(
    values: Mapping[str, float], *, triggers: Sequence[str] = (), model: str = ""
) -> Scores:
    """Build :class:`Scores`, clipping values into [0, 1] and filling absent categories with 0."""
    full = {c: 0.0 for c in CATEGORIES}
    for name, value in values.items():
        full[name] = min(1.0, max(0.0, float(value)))
    return Scores(full, triggers=tuple(dict.fromkeys(triggers)), model=model)


@runtime_checkable
class Classifier(Protocol):
    """A toxicity model.

    ``predict`` is synchronous and blocking (CPU-bound); call it from a worker thread
    (``trio.to_thread.run_sync``) with a batch. It returns exactly one :class:`Scores` per
    input text, in order, and ``[]`` for an empty batch. Implementations are safe to call
    from several threads (torch-based ones serialise calls with a lock).
    """

    name: str

    def predict(self, texts: Sequence[str]) -> list[Scores]: ...

"""Pluggable toxicity classifiers: one :class:`Scores` per message, per category.

The moderation pool loads one model with :func:`load_classifier` (``MODERATION_MODEL``) and
calls its blocking ``predict`` from a worker thread with a batch of messages:

    >>> clf = load_classifier("keyword")
    >>> [s.top for s in clf.predict(["gg", "you idiot"])]
    [0.0, 0.85]

Models: :class:`KeywordClassifier` (tests), :class:`ProfanityCheckClassifier` (fast),
:class:`MiniLMHeadsClassifier` (bundled semantic model), :class:`CascadeClassifier` (the
offline default combining the two), :class:`DetoxifyClassifier` (production, from a local
checkpoint). Quality and speed: ``docs/moderation.md``, ``docs/benchmarks.md``. Heavy
dependencies (torch, transformers, detoxify, alt-profanity-check) are imported only when
their model is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safestream.moderation.classifiers._types import (
    CATEGORIES,
    Classifier,
    ModelUnavailable,
    Scores,
)
from safestream.moderation.classifiers.cascade import CascadeClassifier
from safestream.moderation.classifiers.keyword import KeywordClassifier
from safestream.moderation.classifiers.loader import load_classifier

if TYPE_CHECKING:
    from safestream.moderation.classifiers.detoxify_model import DetoxifyClassifier
    from safestream.moderation.classifiers.minilm import MiniLMHeadsClassifier
    from safestream.moderation.classifiers.profanity import ProfanityCheckClassifier

__all__ = [
    "CATEGORIES",
    "CascadeClassifier",
    "Classifier",
    "DetoxifyClassifier",
    "KeywordClassifier",
    "MiniLMHeadsClassifier",
    "ModelUnavailable",
    "ProfanityCheckClassifier",
    "Scores",
    "load_classifier",
]

_LAZY = {
    "DetoxifyClassifier": "safestream.moderation.classifiers.detoxify_model",
    "MiniLMHeadsClassifier": "safestream.moderation.classifiers.minilm",
    "ProfanityCheckClassifier": "safestream.moderation.classifiers.profanity",
}


def __getattr__(name: str) -> Any:
    # Lazy so that importing the package does not import numpy / torch / sklearn.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

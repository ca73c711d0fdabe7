"""The default model: a fast profanity model on everything, a semantic model where it matters.

:class:`CascadeClassifier` runs the fast model (alt-profanity-check, ~0.1 ms a message in
batches) on every message. Messages it scores below ``band`` on ``toxicity`` (i.e. those it
has not already condemned) also go to the semantic model (MiniLM heads, ~5 ms a message in
batches on 2 cores), which
catches threats, insults and identity attacks written without swear words. A configured
Detoxify model, the production model, runs on every message in addition.

Combination: per category, the maximum of the models that ran (a message is as bad as the
most worried model says). Triggers come from the models that can name words.

Messages the fast model already scores at or above ``band`` skip the semantic model, so
their ``threat`` and ``identity_attack`` scores come only from Detoxify when configured;
their ``toxicity`` is already at least ``band``.
"""

from __future__ import annotations

from collections.abc import Sequence

from safestream.moderation.classifiers._types import Classifier, Scores, scores_from

DEFAULT_BAND = 0.9


class CascadeClassifier:
    """Fast model on all messages, semantic model below ``band``, Detoxify on all if given.

    Args:
        fast: the cheap model run on every message (its ``toxicity`` decides the band).
        semantic: the model for messages the fast one scores below ``band``.
        detoxify: an optional extra model run on every message.
        band: the fast model's ``toxicity`` at and above which ``semantic`` is skipped.
    """

    def __init__(
        self,
        fast: Classifier,
        semantic: Classifier,
        detoxify: Classifier | None = None,
        *,
        band: float = DEFAULT_BAND,
    ) -> None:
        if not 0.0 <= band <= 1.0:
            raise ValueError(f"band must be in [0, 1], got {band}")
        self.fast = fast
        self.semantic = semantic
        self.detoxify = detoxify
        self.band = band
        parts = [fast.name, semantic.name] + ([detoxify.name] if detoxify else [])
        self.name = f"cascade({','.join(parts)})"

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Score each text; one :class:`Scores` per text, in order."""
        if not texts:
            return []
        fast = self.fast.predict(texts)
        per_text: list[list[Scores]] = [[s] for s in fast]
        unsure = [i for i, s in enumerate(fast) if s.values["toxicity"] < self.band]
        if unsure:
            for i, s in zip(unsure, self.semantic.predict([texts[i] for i in unsure]), strict=True):
                per_text[i].append(s)
        if self.detoxify is not None:
            for i, s in enumerate(self.detoxify.predict(texts)):
                per_text[i].append(s)
        return [self._combine(parts) for parts in per_text]

    def _combine(self, parts: list[Scores]) -> Scores:
        values: dict[str, float] = {}
        for s in parts:
            for name, v in s.values.items():
                values[name] = max(values.get(name, 0.0), v)
        triggers = [t for s in parts for t in s.triggers]
        ran = ",".join(s.model or "?" for s in parts)
        return scores_from(values, triggers=triggers, model=f"cascade({ran})")

"""The fast model: alt-profanity-check (TF-IDF + calibrated linear SVM), mapped to our categories.

alt-profanity-check gives one probability ``p`` that a text is offensive. It was trained on
profanity-heavy sources (including Jigsaw comments), so it knows swear words and common
insults well and knows nothing about threats or identity attacks written in plain words.
The mapping (documented in ``docs/moderation.md``):

=================  ==================  ===============================================
category           score               why
=================  ==================  ===============================================
toxicity           ``p``               what the model was trained to predict
obscene            ``p``               its vocabulary is mostly obscenities
insult             ``0.75 * p``        insults are a large part of it, not all
severe_toxicity    ``0.5 * p``         it cannot tell severity: never crosses 0.5 alone
threat             0                   no signal; the MiniLM heads cover it
identity_attack    0                   no signal; the MiniLM heads cover it
=================  ==================  ===============================================

Triggers are the words of the message whose vocabulary weight (the SVM coefficient,
averaged over the calibration folds) is high, reported when ``p`` is at least 0.5.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from safestream.moderation.classifiers._types import ModelUnavailable, Scores, scores_from

INSULT_FACTOR = 0.75
SEVERE_FACTOR = 0.5
TRIGGER_MIN_WEIGHT = 2.0
"""A vocabulary word is a trigger when its SVM coefficient is at least this (top ~1 %)."""
TRIGGER_MIN_PROB = 0.5

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token_pattern


class ProfanityCheckClassifier:
    """alt-profanity-check on every message; see the module docstring for the mapping.

    Raises:
        ModelUnavailable: the ``alt-profanity-check`` package is not installed.
    """

    name = "profanity-check"

    def __init__(self) -> None:
        try:
            from profanity_check import profanity_check as pc
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailable(
                "profanity model needs the 'alt-profanity-check' package (extra 'ml')"
            ) from exc
        self._vectorizer: Any = pc.vectorizer
        self._model: Any = pc.model
        self._lock = threading.Lock()
        self._folds = self._linear_folds()
        weights = self._word_weights()
        self._trigger_words = frozenset(w for w, c in weights.items() if c >= TRIGGER_MIN_WEIGHT)

    def _word_weights(self) -> dict[str, float]:
        """Vocabulary word -> its linear weight, where the package exposes the estimators."""
        folds = getattr(self._model, "calibrated_classifiers_", None)
        if not folds:
            return {}
        coef = np.mean([np.ravel(f.estimator.coef_) for f in folds], axis=0)
        vocab: dict[str, int] = self._vectorizer.vocabulary_
        return {word: float(coef[i]) for word, i in vocab.items()}

    def _linear_folds(self) -> tuple[Any, Any, Any, Any] | None:
        """The calibrated SVM's folds as arrays, so one product scores all five at once.

        ``CalibratedClassifierCV.predict_proba`` (sigmoid method) is the mean over folds of
        ``1 / (1 + exp(a * (w . x + b0) + b))``; computed here from the same fitted numbers
        it is identical (a test checks) and ~25x faster per call, as it skips scikit-learn's
        per-fold validation. None when the package's model has another shape: then
        ``predict_proba`` is used.
        """
        folds = getattr(self._model, "calibrated_classifiers_", None)
        if not folds or getattr(self._model, "method", "") != "sigmoid":
            return None
        try:
            w = np.vstack([np.ravel(f.estimator.coef_) for f in folds]).T
            b0 = np.array([float(np.ravel(f.estimator.intercept_)[0]) for f in folds])
            a = np.array([float(f.calibrators[0].a_) for f in folds])
            b = np.array([float(f.calibrators[0].b_) for f in folds])
        except (AttributeError, IndexError):
            return None
        return w, b0, a, b

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """The raw alt-profanity-check probability for each text."""
        if not texts:
            return []
        with self._lock:  # sklearn objects are shared; keep calls serial to be safe
            features = self._vectorizer.transform(list(texts))
            if self._folds is None:
                proba = self._model.predict_proba(features)[:, 1]
            else:
                w, b0, a, b = self._folds
                decision = np.asarray(features @ w) + b0
                proba = (1.0 / (1.0 + np.exp(a * decision + b))).mean(axis=1)
        return [float(p) for p in proba]

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Score each text; one :class:`Scores` per text."""
        return [
            self._scores(text, p) for text, p in zip(texts, self.probabilities(texts), strict=True)
        ]

    def _scores(self, text: str, p: float) -> Scores:
        triggers: list[str] = []
        if p >= TRIGGER_MIN_PROB:
            triggers = [m.group() for m in _TOKEN.finditer(text)
                        if m.group().lower() in self._trigger_words]  # fmt: skip
        values = {
            "toxicity": p,
            "obscene": p,
            "insult": INSULT_FACTOR * p,
            "severe_toxicity": SEVERE_FACTOR * p,
        }
        return scores_from(values, triggers=triggers, model=self.name)

"""The default model: profanity-check and the fine-tuned chat model, joined by a learned
combiner instead of ``max``, with per-category calibrated thresholds, and an optional
Detoxify checkpoint for the uncertain band.

Every message goes through both bundled models (together ~1-2 ms a message in batches).
Per message:

* ``toxicity`` = ``sigmoid(w · [logit chat.toxicity, logit profanity, logit max(chat's
  threat, insult, identity_attack, severe_toxicity)] + b)``: a logistic regression fitted
  on a calibration split that no other training step used, so one model's false positive
  ("that trap murdered me" for profanity-check) can be outvoted by the other;
* ``obscene`` = the same over ``[logit chat.obscene, logit profanity]``;
* ``threat``, ``insult``, ``identity_attack``, ``severe_toxicity``: the chat model's own
  outputs (profanity-check has no signal there);
* then each category is calibrated: its threshold, chosen on the calibration split, is
  mapped onto the policy threshold (0.6 by default) by a monotone piecewise-linear map,
  so the default ``TOXIC_THRESHOLD`` sits at the calibrated operating point and ROC-AUC
  is unchanged.

With a Detoxify model configured, the messages whose calibrated ``toxicity`` falls in
the uncertain band ``[band_low, band_high)`` are scored by Detoxify too, and its scores
replace the bundled ones (per category; categories it lacks keep ours);
``Scores.escalated`` marks them and ``/metrics`` reports the share.

Triggers (words to mask) come from profanity-check, kept only when the combined
``toxicity`` or ``obscene`` is at least 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from safestream.moderation.classifiers._types import CATEGORIES, Classifier, Scores, scores_from

Matrix = npt.NDArray[np.float32]
POLICY_THRESHOLD = 0.6
DEFAULT_BAND = (0.3, 0.9)
_EPS = 1e-4
_OTHERS = ("threat", "insult", "identity_attack", "severe_toxicity")


def logit(p: npt.ArrayLike) -> Matrix:
    """``log(p / (1 - p))`` with p clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(q / (1 - q)).astype(np.float32)


def combiner_features(raw: Matrix, profanity: npt.ArrayLike) -> dict[str, Matrix]:
    """The combiner's inputs per combined category, ``(n, k)`` each."""
    col = {c: i for i, c in enumerate(CATEGORIES)}
    prof = logit(profanity)
    others = raw[:, [col[c] for c in _OTHERS]].max(axis=1)
    return {
        "toxicity": np.stack([logit(raw[:, col["toxicity"]]), prof, logit(others)], axis=1),
        "obscene": np.stack([logit(raw[:, col["obscene"]]), prof], axis=1),
    }


def calibrate(p: npt.ArrayLike, threshold: float, target: float = POLICY_THRESHOLD) -> Matrix:
    """Map ``[0, threshold]`` onto ``[0, target]`` and ``[threshold, 1]`` onto ``[target, 1]``."""
    q = np.asarray(p, dtype=np.float32)
    t = float(np.clip(threshold, 1e-3, 1 - 1e-3))
    low = q / t * target
    high = target + (q - t) / (1 - t) * (1 - target)
    return np.clip(np.where(q < t, low, high), 0.0, 1.0).astype(np.float32)


def combine(raw: Matrix, profanity: npt.ArrayLike, params: Mapping[str, Any]) -> Matrix:
    """Combined, calibrated ``(n, 6)`` scores from the chat model's raw outputs, the
    profanity probabilities and the fitted ``params`` (``combiner``, ``thresholds``)."""
    out = np.array(raw, dtype=np.float32, copy=True)
    feats = combiner_features(out, profanity)
    for cat, lr in params.get("combiner", {}).items():
        z = feats[cat] @ np.asarray(lr["coef"], dtype=np.float32) + float(lr["intercept"])
        out[:, CATEGORIES.index(cat)] = 1.0 / (1.0 + np.exp(-z))
    for cat, t in params.get("thresholds", {}).items():
        i = CATEGORIES.index(cat)
        out[:, i] = calibrate(out[:, i], float(t))
    return out


class CombinedClassifier:
    """profanity-check + chat model, learned combiner, calibrated; Detoxify in the band.

    Args:
        fast: a :class:`~safestream.moderation.classifiers.profanity.ProfanityCheckClassifier`
            (anything with ``probabilities(texts)`` and ``predict``).
        chat: a :class:`~safestream.moderation.classifiers.chat_model.ChatModelClassifier`
            (``raw(texts)`` and ``meta`` with the fitted combiner and thresholds).
        detoxify: optional second opinion for the uncertain band.
        band: ``(low, high)`` calibrated ``toxicity`` range sent to ``detoxify``.
    """

    def __init__(
        self,
        fast: Any,
        chat: Any,
        detoxify: Classifier | None = None,
        *,
        band: tuple[float, float] = DEFAULT_BAND,
    ) -> None:
        low, high = band
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"band must satisfy 0 <= low <= high <= 1, got {band}")
        self.fast = fast
        self.chat = chat
        self.detoxify = detoxify
        self.band = (low, high)
        self.params: Mapping[str, Any] = chat.meta
        parts = [fast.name, chat.name] + ([detoxify.name] if detoxify else [])
        self.name = f"combined({','.join(parts)})"

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Score each text; one :class:`Scores` per text, in order."""
        if not texts:
            return []
        texts = list(texts)
        fast = self.fast.predict(texts)
        prof = [s.values["toxicity"] for s in fast]
        scores = combine(self.chat.raw(texts), prof, self.params)
        tox, obs = CATEGORIES.index("toxicity"), CATEGORIES.index("obscene")
        model = f"combined({self.fast.name},{self.chat.name})"
        out = [
            scores_from(
                dict(zip(CATEGORIES, map(float, row), strict=True)),
                triggers=s.triggers if max(row[tox], row[obs]) >= 0.5 else (),
                model=model,
            )
            for row, s in zip(scores, fast, strict=True)
        ]
        if self.detoxify is not None:
            low, high = self.band
            unsure = [i for i, s in enumerate(out) if low <= s.values["toxicity"] < high]
            if unsure:
                second = self.detoxify.predict([texts[i] for i in unsure])
                for i, d in zip(unsure, second, strict=True):
                    merged = dict(out[i].values) | dict(d.values)
                    out[i] = Scores(
                        scores_from(merged).values,
                        triggers=out[i].triggers,
                        model=f"{model[:-1]},{d.model or self.detoxify.name})",
                        escalated=True,
                    )
        return out

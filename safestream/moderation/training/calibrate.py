"""Fitting the combiner and the per-category thresholds on the calibration split.

See :mod:`safestream.moderation.classifiers.combined` for how they are applied. Both are
fitted on rows the network never trained on (:func:`~.rows.calibration_split`), with chat
rows weighted :data:`CHAT_WEIGHT` times a shared-data row, as chat is what the model sees.

Thresholds: for ``toxicity`` (what the default policy acts on), recall first, as the
issue's operating point asks (recall >= 0.9 at FPR <= 0.1): the highest threshold that
keeps :data:`TOXICITY_RECALL` of the calibration chat lines' toxic ones, as long as its
FPR there stays at most :data:`TOXICITY_MAX_FPR`; otherwise the one that maximises
``recall - FPR`` (Youden's J). The calibration lines come from the same templates as the
training lines and are easier than real chat, hence a target above the issue's 0.9. For
the other categories, Youden's J over every calibration row where the category is known.
All bounded to [0.05, 0.95].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from safestream.moderation.classifiers._types import CATEGORIES
from safestream.moderation.classifiers.combined import combine, combiner_features
from safestream.moderation.training.rows import Rows

CHAT_WEIGHT = 3.0
C = 1.0
TOXICITY_RECALL = 0.97
TOXICITY_MAX_FPR = 0.05


def _recall_first(labels: npt.NDArray[Any], scores: npt.NDArray[Any]) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return 0.5
    t = float(np.clip(np.quantile(pos, 1 - TOXICITY_RECALL), 0.05, 0.95))
    if (neg >= t).mean() > TOXICITY_MAX_FPR:
        return _youden(labels, scores)
    return t


def _youden(labels: npt.NDArray[Any], scores: npt.NDArray[Any]) -> float:
    pos, neg = labels == 1, labels == 0
    if not pos.any() or not neg.any():
        return 0.5
    best_t, best_j = 0.5, -1.0
    for t in np.unique(np.round(scores, 4)):
        if not 0.05 <= t <= 0.95:
            continue
        flagged = scores >= t
        j = flagged[pos].mean() - flagged[neg].mean()
        if j > best_j:
            best_t, best_j = float(t), float(j)
    return best_t


def fit(raw: npt.NDArray[np.float32], profanity: npt.ArrayLike, rows: Rows) -> dict[str, Any]:
    """``{"combiner": ..., "thresholds": ...}`` fitted on calibration rows."""
    from sklearn.linear_model import LogisticRegression

    feats = combiner_features(raw, profanity)
    weights = np.array([CHAT_WEIGHT if s != "shared" else 1.0 for s in rows.source])
    combiner: dict[str, Any] = {}
    for cat, x in feats.items():
        i = CATEGORIES.index(cat)
        known = rows.masks[:, i] > 0
        y = rows.labels[known, i]
        if len(np.unique(y)) < 2:
            continue
        lr = LogisticRegression(C=C, max_iter=2000)
        lr.fit(x[known], y, sample_weight=weights[known])
        combiner[cat] = {
            "coef": [round(float(v), 6) for v in lr.coef_[0]],
            "intercept": round(float(lr.intercept_[0]), 6),
        }
    combined = combine(raw, profanity, {"combiner": combiner})
    thresholds: dict[str, float] = {}
    chat = np.array([s != "shared" for s in rows.source])
    for i, cat in enumerate(CATEGORIES):
        known = rows.masks[:, i] > 0
        if cat == "toxicity":
            known &= chat
        choose = _recall_first if cat == "toxicity" else _youden
        thresholds[cat] = round(choose(rows.labels[known, i], combined[known, i]), 4)
    return {"combiner": combiner, "thresholds": thresholds}

"""Binary metrics at a threshold, plus ROC-AUC, as used in ``docs/moderation.md``.

Example:
    >>> m = binary_metrics([0, 1, 1], [0.2, 0.7, 0.4], threshold=0.6)
    >>> (m.tp, m.fn, m.fp, m.tn, m.recall)
    (1, 1, 0, 1, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class BinaryMetrics:
    """ROC-AUC, precision / recall / F1 / false-positive rate and the confusion at
    ``threshold``; ``n``/``positives`` for context. ``roc_auc`` is NaN when only one class
    is present (it is undefined there)."""

    n: int
    positives: int
    roc_auc: float
    precision: float
    recall: float
    f1: float
    threshold: float
    fpr: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


def binary_metrics(
    labels: Sequence[int], scores: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> BinaryMetrics:
    """Compute :class:`BinaryMetrics` for 0/1 ``labels`` and scores in [0, 1]."""
    from sklearn.metrics import roc_auc_score

    if len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels for {len(scores)} scores")
    predicted = [int(s >= threshold) for s in scores]
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y and not p)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both = 0 < sum(labels) < len(labels)
    return BinaryMetrics(
        n=len(labels),
        positives=int(sum(labels)),
        roc_auc=float(roc_auc_score(labels, scores)) if both else math.nan,
        precision=precision,
        recall=recall,
        f1=f1,
        threshold=threshold,
        fpr=fp / (fp + tn) if fp + tn else 0.0,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
    )

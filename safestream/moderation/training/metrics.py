"""Binary metrics at a threshold, plus ROC-AUC, as used in ``docs/moderation.md``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class BinaryMetrics:
    """ROC-AUC and precision / recall / F1 at ``threshold``; ``n``/``positives`` for context."""

    n: int
    positives: int
    roc_auc: float
    precision: float
    recall: float
    f1: float
    threshold: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


def binary_metrics(
    labels: Sequence[int], scores: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> BinaryMetrics:
    """Compute :class:`BinaryMetrics` for 0/1 ``labels`` and scores in [0, 1]."""
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    predicted = [int(s >= threshold) for s in scores]
    return BinaryMetrics(
        n=len(labels),
        positives=int(sum(labels)),
        roc_auc=float(roc_auc_score(labels, scores)),
        precision=float(precision_score(labels, predicted, zero_division=0)),
        recall=float(recall_score(labels, predicted, zero_division=0)),
        f1=float(f1_score(labels, predicted, zero_division=0)),
        threshold=threshold,
    )

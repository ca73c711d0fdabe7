"""One retrain of the live chat model from moderators' labels, judged on held-out data.

:func:`retrain` (blocking; run it in a worker thread) refits the live model's head and
calibration on the shipped chat lines, the shared data when it is configured
(``MODEL_TRAIN_DATA``) and the moderators' labels
(:func:`~safestream.moderation.training.finetune.refit_head`), then measures the live
model and the candidate on the held-out sets (:mod:`safestream.moderation.evaluation`:
the chat set always, the held-out 20 % of the shared data when configured). The
candidate is *kept* only when it is not worse (:func:`not_worse`); making it live is
the caller's job (:class:`~safestream.moderation.trainer.ModelTrainer`), after loading it.

Example:
    outcome = retrain(live, labels, shared_csv=None, work_dir=tmp)
    if outcome.kept: ...   # load outcome.candidate, add it to the versions, swap
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from safestream.store.records import LabelRecord

__all__ = ["TOLERANCE", "RetrainOutcome", "measure", "not_worse", "retrain"]

TOLERANCE: Mapping[str, float] = MappingProxyType(
    {"chat_roc_auc": 0.005, "chat_f1": 0.01, "shared_roc_auc": 0.005}
)
"""How much lower than the live model's a candidate's figure may be and still count as
"not worse" (one chat line moves F1 by about 0.005)."""


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain produced and whether it may go live."""

    kept: bool
    reason: str
    candidate: Path
    labels: int
    before: Mapping[str, float] = field(default_factory=dict)
    after: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "reason": self.reason,
            "labels": self.labels,
            "before": dict(self.before),
            "after": dict(self.after),
        }


def measure(model_path: Path, shared_csv: Path | None) -> dict[str, float]:
    """The default model built on ``model_path``: figures on the held-out sets."""
    from safestream.moderation.classifiers.chat_model import ChatModelClassifier
    from safestream.moderation.classifiers.combined import CombinedClassifier
    from safestream.moderation.classifiers.profanity import ProfanityCheckClassifier
    from safestream.moderation.evaluation import report, sets

    clf = CombinedClassifier(ProfanityCheckClassifier(), ChatModelClassifier(model_path))
    chat = report.evaluate_model(clf, sets.chat_set())
    out = {
        "chat_roc_auc": round(chat.overall.roc_auc, 4),
        "chat_f1": round(chat.overall.f1, 4),
        "chat_recall": round(chat.overall.recall, 4),
        "chat_fpr": round(chat.overall.fpr, 4),
    }
    if shared_csv is not None and shared_csv.is_file():
        shared = report.evaluate_model(clf, sets.jigsaw_set(shared_csv))
        out["shared_roc_auc"] = round(shared.overall.roc_auc, 4)
    return out


def not_worse(before: Mapping[str, float], after: Mapping[str, float]) -> tuple[bool, str]:
    """Whether ``after`` is within :data:`TOLERANCE` of ``before`` on every shared figure."""
    worse = [
        f"{k} {after[k]:.3f} < {before[k]:.3f}"
        for k, tol in TOLERANCE.items()
        if k in before and k in after and after[k] < before[k] - tol
    ]
    if worse:
        return False, "worse on held-out data: " + ", ".join(worse)
    return True, "not worse on held-out data"


def retrain(
    live: Path,
    labels: Sequence[LabelRecord],
    *,
    shared_csv: Path | None,
    work_dir: Path,
    log: Callable[[str], None] = lambda _line: None,
) -> RetrainOutcome:
    """Refit on chat lines + shared data (if any) + ``labels``; judge against ``live``."""
    from safestream.moderation.training.finetune import refit_head, training_rows
    from safestream.moderation.training.rows import moderator_rows

    extra = moderator_rows((lab.text, lab.toxic, frozenset(lab.categories)) for lab in labels)
    rows = training_rows(shared_csv, extra=extra)
    work_dir.mkdir(parents=True, exist_ok=True)
    candidate = work_dir / "candidate.npz"
    log(f"refitting on {len(rows)} rows ({len(labels)} moderator labels)")
    refit_head(live, candidate, rows, log=log)
    before = measure(live, shared_csv)
    after = measure(candidate, shared_csv)
    kept, reason = not_worse(before, after)
    log(f"before {before}, after {after}: {reason}")
    return RetrainOutcome(kept, reason, candidate, len(labels), before, after)

"""Metrics of one model on one held-out set, the issue's targets, and Markdown tables.

A message counts as flagged when its ``toxicity`` score is at least the threshold: that is
what the default room policy (``TOXIC_THRESHOLD``, 0.6) does. Per category, two views:
the category's own score against the category's label (ROC-AUC, precision, recall, F1),
and ``caught``: the share of the lines of a kind that the default decision flags (for the
benign kinds, the share wrongly flagged).

Example:
    >>> from safestream.moderation.evaluation.sets import EvalSet
    >>> s = EvalSet("t", ("a", "b"), (frozenset(), frozenset({"toxicity"})), ("game", "insult"))
    >>> r = evaluate_scores("m", s, [{"toxicity": 0.1}, {"toxicity": 0.9}])
    >>> (r.overall.recall, r.overall.fpr, r.caught["insult"])
    (1.0, 0.0, 1.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from safestream.moderation.classifiers._types import CATEGORIES, Classifier
from safestream.moderation.evaluation.sets import BENIGN_KINDS, TOXIC_KINDS, EvalSet
from safestream.moderation.training.metrics import (
    DEFAULT_THRESHOLD,
    BinaryMetrics,
    binary_metrics,
)

TARGET_RECALL = 0.9
TARGET_FPR = 0.1
TARGET_CATEGORY_RECALL = 0.85
TARGET_CATEGORIES = ("threat", "identity_attack", "insult")
TARGET_JIGSAW_AUC = 0.97


@dataclass(frozen=True)
class SetReport:
    """One model on one set.

    Attributes:
        model: the model's name.
        set_name: the set's title.
        overall: ``toxicity`` score against "toxic at all".
        categories: per category present in the labels, its score against its label.
        caught: per kind of line, the share flagged by the default decision.
        flagged_by_category: per category, the share of its lines the default decision flags.
    """

    model: str
    set_name: str
    overall: BinaryMetrics
    categories: Mapping[str, BinaryMetrics]
    caught: Mapping[str, float]
    flagged_by_category: Mapping[str, float]


def evaluate_scores(
    model: str,
    evalset: EvalSet,
    scores: Sequence[Mapping[str, float]],
    threshold: float = DEFAULT_THRESHOLD,
) -> SetReport:
    """Compute a :class:`SetReport` from per-text category scores."""
    if len(scores) != len(evalset.texts):
        raise ValueError(f"{len(scores)} scores for {len(evalset.texts)} texts")
    tox = [float(s.get("toxicity", 0.0)) for s in scores]
    flagged = [t >= threshold for t in tox]
    overall = binary_metrics(evalset.toxic, tox, threshold)
    present = {c for lab in evalset.labels for c in lab} - {"toxicity"}
    categories = {
        c: binary_metrics(
            [int(c in lab) for lab in evalset.labels],
            [float(s.get(c, 0.0)) for s in scores],
            threshold,
        )
        for c in CATEGORIES
        if c in present
    }
    caught: dict[str, float] = {}
    for kind in dict.fromkeys(evalset.kinds):
        idx = [i for i, k in enumerate(evalset.kinds) if k == kind]
        caught[kind] = sum(flagged[i] for i in idx) / len(idx)
    by_cat: dict[str, float] = {}
    for c in CATEGORIES:
        idx = [i for i, lab in enumerate(evalset.labels) if c in lab]
        if idx:
            by_cat[c] = sum(flagged[i] for i in idx) / len(idx)
    return SetReport(model, evalset.name, overall, categories, caught, by_cat)


def evaluate_model(
    clf: Classifier, evalset: EvalSet, threshold: float = DEFAULT_THRESHOLD, batch: int = 64
) -> SetReport:
    """Score ``evalset`` with ``clf`` in batches and report (blocking)."""
    scores: list[Mapping[str, float]] = []
    for start in range(0, len(evalset.texts), batch):
        scores += [s.values for s in clf.predict(list(evalset.texts[start : start + batch]))]
    return evaluate_scores(clf.name, evalset, scores, threshold)


def targets(chat: SetReport, jigsaw: SetReport | None = None) -> dict[str, tuple[float, bool]]:
    """The issue's targets: name -> (measured value, met)."""
    out = {
        f"chat recall >= {TARGET_RECALL}": (
            chat.overall.recall,
            chat.overall.recall >= TARGET_RECALL,
        ),
        f"chat FPR <= {TARGET_FPR}": (chat.overall.fpr, chat.overall.fpr <= TARGET_FPR),
    }
    for c in TARGET_CATEGORIES:
        v = chat.flagged_by_category.get(c, math.nan)
        out[f"chat {c} recall >= {TARGET_CATEGORY_RECALL}"] = (v, v >= TARGET_CATEGORY_RECALL)
    if jigsaw is not None:
        auc = jigsaw.overall.roc_auc
        out[f"shared ROC-AUC >= {TARGET_JIGSAW_AUC}"] = (auc, auc >= TARGET_JIGSAW_AUC)
    return out


def _f(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.3f}"


def overall_table(reports: Sequence[SetReport]) -> str:
    """``toxicity`` at the threshold, with the confusion, one row per model."""
    lines = [
        "| model | ROC-AUC | precision | recall | F1 | FPR | TP | FP | FN | TN |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        m = r.overall
        lines.append(
            f"| {r.model} | {_f(m.roc_auc)} | {_f(m.precision)} | {_f(m.recall)} | "
            f"{_f(m.f1)} | {_f(m.fpr)} | {m.tp} | {m.fp} | {m.fn} | {m.tn} |"
        )
    return "\n".join(lines)


def category_table(reports: Sequence[SetReport]) -> str:
    """Per category: its own score's ROC-AUC / P / R / F1, and the default decision's recall."""
    lines = [
        "| model | category (lines) | ROC-AUC | precision | recall | F1 | flagged at default |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        for c, m in r.categories.items():
            lines.append(
                f"| {r.model} | {c} ({m.positives}) | {_f(m.roc_auc)} | {_f(m.precision)} | "
                f"{_f(m.recall)} | {_f(m.f1)} | {_f(r.flagged_by_category.get(c, math.nan))} |"
            )
    return "\n".join(lines)


def kind_table(reports: Sequence[SetReport]) -> str:
    """Share of each kind of line flagged by the default decision."""
    kinds = [k for k in TOXIC_KINDS + BENIGN_KINDS if any(k in r.caught for r in reports)]
    lines = [
        "| model | " + " | ".join(kinds) + " |",
        "|---" * (len(kinds) + 1) + "|",
    ]
    for r in reports:
        lines.append(
            f"| {r.model} | " + " | ".join(_f(r.caught.get(k, math.nan)) for k in kinds) + " |"
        )
    return "\n".join(lines)


def targets_table(chat: Sequence[SetReport], jigsaw: Sequence[SetReport]) -> str:
    """One row per model: each target's value, with ✓ when met."""
    by_model = {r.model: r for r in jigsaw}
    rows: list[str] = []
    header: list[str] = []
    for r in chat:
        t = targets(r, by_model.get(r.model))
        header = header or list(t)
        cells = [f"{_f(v)} {'✓' if ok else '✗'}" for v, ok in t.values()]
        rows.append(f"| {r.model} | " + " | ".join(cells) + " |")
    if not rows:
        return ""
    return "\n".join(
        ["| model | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|", *rows]
    )


def write_section(doc: Path, marker: str, body: str) -> None:
    """Replace the text between ``<!-- eval:MARKER -->`` and ``<!-- /eval:MARKER -->``.

    Raises:
        ValueError: the markers are not in ``doc``.
    """
    text = doc.read_text(encoding="utf-8")
    start, end = f"<!-- eval:{marker} -->", f"<!-- /eval:{marker} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{doc} has no {start} ... {end} section")
    doc.write_text(pattern.sub(lambda _: f"{start}\n{body.strip()}\n{end}", text), "utf-8")

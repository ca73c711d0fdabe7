"""Measure the models on held-out data: ``python -m safestream.moderation.training.evaluate``.

Prints Markdown tables (as in ``docs/moderation.md``): ROC-AUC and precision / recall / F1
of the ``toxicity`` score at the default threshold, for profanity-check, the MiniLM heads
and the cascade, on (a) the held-out 20 % of the shared Jigsaw data and (b) the
hand-written held-out chat lines; then per-category ROC-AUC on the chat lines.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from safestream.moderation.classifiers import CATEGORIES, Classifier, Scores
from safestream.moderation.classifiers.cascade import CascadeClassifier
from safestream.moderation.classifiers.minilm import MiniLMHeadsClassifier
from safestream.moderation.classifiers.profanity import ProfanityCheckClassifier
from safestream.moderation.training import data, examples
from safestream.moderation.training.metrics import DEFAULT_THRESHOLD, binary_metrics


class _Memo:
    """Remembers a model's scores by text, so the cascade reuses MiniLM's earlier work."""

    def __init__(self, inner: Classifier) -> None:
        self.inner = inner
        self.name = inner.name
        self._seen: dict[str, Scores] = {}

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        todo = list(dict.fromkeys(t for t in texts if t not in self._seen))
        self._seen.update(zip(todo, self.inner.predict(todo), strict=True))
        return [self._seen[t] for t in texts]


def _row(name: str, labels: Sequence[int], scores: Sequence[float], threshold: float) -> str:
    m = binary_metrics(labels, scores, threshold)
    return f"| {name} | {m.roc_auc:.3f} | {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} |"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m safestream.moderation.training.evaluate")
    parser.add_argument("--data", type=Path, default=data.DEFAULT_DATA)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--torch-threads", type=int, default=2)
    args = parser.parse_args(argv)

    profanity = ProfanityCheckClassifier()
    minilm = _Memo(MiniLMHeadsClassifier(torch_threads=args.torch_threads))
    models: list[Classifier] = [profanity, minilm, CascadeClassifier(profanity, minilm)]
    spl = data.load_split(args.data)
    chat_texts = [t for t, _ in examples.HELD_OUT]
    sets = {
        f"(a) Jigsaw held-out, {len(spl.test_texts)} comments, {sum(spl.test_labels)} toxic": (
            spl.test_texts,
            spl.test_labels,
        ),
        f"(b) chat held-out, {len(chat_texts)} lines, "
        f"{sum(bool(c) for _, c in examples.HELD_OUT)} toxic": (
            chat_texts,
            [int(bool(c)) for _, c in examples.HELD_OUT],
        ),
    }
    header = "| model | ROC-AUC | precision | recall | F1 |\n|---|---|---|---|---|"
    chat_scores: dict[str, list[Scores]] = {}
    for title, (texts, labels) in sets.items():
        print(f"\n{title}; `toxicity` score, threshold {args.threshold}\n\n{header}")
        for model in models:
            print(f"model {model.name}: {len(texts)} texts", file=sys.stderr)
            scores = model.predict(texts)
            if texts is chat_texts:
                chat_scores[model.name] = scores
            tox = [s.values["toxicity"] for s in scores]
            print(_row(model.name, labels, tox, args.threshold))

    print("\n(b) chat held-out, ROC-AUC per category (positives in brackets)\n")
    cats = [c for c in CATEGORIES if c != "toxicity"]
    counts = {c: sum(c in labels for _, labels in examples.HELD_OUT) for c in cats}
    print("| model | " + " | ".join(f"{c} ({counts[c]})" for c in cats) + " |")
    print("|---" * (len(cats) + 1) + "|")
    for name, scores in chat_scores.items():
        cells = []
        for c in cats:
            labels = [int(c in lab) for _, lab in examples.HELD_OUT]
            cells.append(f"{binary_metrics(labels, [s.values[c] for s in scores]).roc_auc:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

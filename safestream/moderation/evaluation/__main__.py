"""Print (and optionally write into the docs) the evaluation of the moderation models.

Usage::

    python -m safestream.moderation.evaluation \
        --models profanity,minilm,cascade-v1,default \
        --data ../shared/data/toxicity/train.csv \
        --write-docs docs/moderation.md --marker after

Each model is loaded with :func:`~safestream.moderation.classifiers.load_classifier` and
scored on the chat set and (when ``--data`` exists) the held-out 20 % of the shared data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from safestream.moderation.classifiers import load_classifier
from safestream.moderation.evaluation import report, sets
from safestream.moderation.training import data
from safestream.moderation.training.metrics import DEFAULT_THRESHOLD


def render(
    chat: Sequence[report.SetReport], jigsaw: Sequence[report.SetReport], threshold: float
) -> str:
    """All tables as one Markdown section."""
    parts = [
        f"Threshold {threshold} on `toxicity` (the default policy). Measured "
        f"{dt.date.today().isoformat()}, load average {os.getloadavg()[0]:.1f}.",
    ]
    if chat:
        parts += [
            f"**{chat[0].set_name}**: `toxicity` against toxic / not toxic",
            report.overall_table(chat),
            "Per category: the category's own score against its label, and the share of "
            "its lines the default decision flags",
            report.category_table(chat),
            "Share of each kind of line flagged (toxic kinds: higher is better; benign "
            "look-alikes `game`, `quote`, `pride`, `banter`, `other`: lower is better)",
            report.kind_table(chat),
        ]
    if jigsaw:
        parts += [f"**{jigsaw[0].set_name}**", report.overall_table(jigsaw)]
    if chat:
        parts += ["Targets", report.targets_table(chat, jigsaw)]
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m safestream.moderation.evaluation")
    parser.add_argument("--models", default="cascade-v1,default", help="comma-separated specs")
    parser.add_argument("--data", type=Path, default=data.DEFAULT_DATA, help="shared CSV")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--write-docs", type=Path, default=None, help="e.g. docs/moderation.md")
    parser.add_argument("--marker", default="after", help="section name in the doc")
    parser.add_argument("--chat-set", default=sets.CHAT_FILE, choices=sets.CHAT_FILES)
    parser.add_argument("--no-shared", action="store_true", help="skip the shared data")
    args = parser.parse_args(argv)

    chat_set = sets.chat_set(args.chat_set)
    use_shared = args.data.is_file() and not args.no_shared
    jig_set = sets.jigsaw_set(args.data) if use_shared else None
    chat: list[report.SetReport] = []
    jigsaw: list[report.SetReport] = []
    for spec in [s.strip() for s in args.models.split(",") if s.strip()]:
        clf = load_classifier(spec, torch_threads=args.torch_threads)
        print(f"evaluating {spec} ({clf.name})", file=sys.stderr)
        chat.append(_named(report.evaluate_model(clf, chat_set, args.threshold), spec))
        if jig_set is not None:
            jigsaw.append(_named(report.evaluate_model(clf, jig_set, args.threshold), spec))
    body = render(chat, jigsaw, args.threshold)
    print(body)
    if args.write_docs is not None:
        report.write_section(args.write_docs, args.marker, body)
        print(f"wrote section {args.marker!r} of {args.write_docs}", file=sys.stderr)
    return 0


def _named(r: report.SetReport, spec: str) -> report.SetReport:
    import dataclasses

    return dataclasses.replace(r, model=spec)


if __name__ == "__main__":
    raise SystemExit(main())

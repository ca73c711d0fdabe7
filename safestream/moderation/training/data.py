"""Reading the shared Jigsaw CSV and the fixed train / held-out split.

The data stays outside the repository (``../shared/data/toxicity/train.csv``, beside the
checkout, by default;
see its README for licence and attribution). The split is stratified with a fixed seed, so
training and evaluation agree on which rows are held out.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The shared data folder lies beside the checkout; it is never copied into the project.
DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared/data/toxicity/train.csv"
SEED = 20240601
HELD_OUT_FRACTION = 0.2

# Weak label for the obscene head: a toxic Jigsaw comment containing one of these.
_OBSCENE_RE = re.compile(
    r"\b(fuck\w*|shit\w*|cunt\w*|dick\w*|cock\w*|puss(y|ies)|ass(hole)?s?|bitch\w*|bullshit|"
    r"motherfuck\w*|wank\w*|tits?|penis|bastards?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Split:
    """Texts and binary toxicity labels for the train and held-out parts."""

    train_texts: list[str]
    train_labels: list[int]
    test_texts: list[str]
    test_labels: list[int]


def read_csv(path: Path) -> tuple[list[str], list[int]]:
    """Read ``comment_text,labels`` rows."""
    texts: list[str] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(row["comment_text"])
            labels.append(int(row["labels"]))
    return texts, labels


def split(texts: Sequence[str], labels: Sequence[int]) -> Split:
    """The fixed stratified 80/20 split (seed :data:`SEED`)."""
    from sklearn.model_selection import train_test_split

    xtr, xte, ytr, yte = train_test_split(
        list(texts),
        list(labels),
        test_size=HELD_OUT_FRACTION,
        random_state=SEED,
        stratify=list(labels),
    )
    return Split(list(xtr), [int(y) for y in ytr], list(xte), [int(y) for y in yte])


def load_split(path: Path = DEFAULT_DATA) -> Split:
    """Read the CSV and split it."""
    return split(*read_csv(path))


def looks_obscene(text: str) -> bool:
    """Whether a (toxic) comment contains a common obscenity; a weak label."""
    return _OBSCENE_RE.search(text) is not None

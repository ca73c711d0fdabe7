"""The held-out evaluation sets: our chat lines and the held-out 20 % of the shared data.

``eval_chat.csv`` (package data, beside this module) holds hand-written chat lines with
a ``kind`` (``threat``, ``veiled_threat``, ``identity_attack``, ``insult``, ``obscene``,
``severe``; benign look-alikes ``game``, ``quote``, ``pride``, ``banter``, ``other``) and
their categories. It was written before any model change, in other words and patterns
than the training lines of :mod:`safestream.moderation.training.examples`, and no training
step reads it (``tests/moderation/test_evaluation.py`` fails if one does).

Example:
    >>> s = chat_set()
    >>> len(s.texts) >= 200 and s.name.startswith("chat")
    True
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from safestream.moderation.classifiers._types import CATEGORIES

CHAT_FILE = "eval_chat.csv"
FRESH_CHAT_FILE = "eval_chat_2.csv"
"""A second chat set (110 lines), written after the shipped model was chosen and used for
no choice since: the cleaner estimate of how the shipped model does on new chat."""
CHAT_FILES = (CHAT_FILE, FRESH_CHAT_FILE)
TOXIC_KINDS = ("threat", "veiled_threat", "identity_attack", "insult", "obscene", "severe")
BENIGN_KINDS = ("game", "quote", "pride", "banter", "other")


@dataclass(frozen=True)
class EvalSet:
    """Texts with their category labels; ``kinds`` is empty where the set has none.

    Attributes:
        name: a short title for tables.
        texts: the messages.
        labels: per text, the categories it belongs to (``toxicity`` for any toxic one).
        kinds: per text, the kind of line (chat set only).
    """

    name: str
    texts: tuple[str, ...]
    labels: tuple[frozenset[str], ...]
    kinds: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError("texts and labels differ in length")
        if self.kinds and len(self.kinds) != len(self.texts):
            raise ValueError("texts and kinds differ in length")

    @property
    def toxic(self) -> list[int]:
        """1 for each text labelled ``toxicity``."""
        return [int("toxicity" in lab) for lab in self.labels]


def chat_file(name: str = CHAT_FILE) -> Path:
    """Where an installed chat evaluation set is (package data)."""
    if name not in CHAT_FILES:
        raise ValueError(f"unknown chat set {name!r}; choose from {CHAT_FILES}")
    return Path(str(resources.files("safestream.moderation.evaluation") / name))


def parse_chat_csv(text: str, name: str = "chat") -> EvalSet:
    """Parse ``text,kind,labels`` rows (labels space-separated category names).

    Raises:
        ValueError: an unknown category or kind, or a toxic kind without ``toxicity``.
    """
    texts: list[str] = []
    labels: list[frozenset[str]] = []
    kinds: list[str] = []
    for row in csv.DictReader(io.StringIO(text)):
        cats = frozenset(row["labels"].split())
        if not cats <= set(CATEGORIES):
            raise ValueError(f"unknown categories in {row!r}")
        if row["kind"] not in TOXIC_KINDS + BENIGN_KINDS:
            raise ValueError(f"unknown kind in {row!r}")
        if (row["kind"] in TOXIC_KINDS) != ("toxicity" in cats):
            raise ValueError(f"kind and labels disagree in {row!r}")
        texts.append(row["text"])
        labels.append(cats)
        kinds.append(row["kind"])
    return EvalSet(name, tuple(texts), tuple(labels), tuple(kinds))


def chat_set(name: str = CHAT_FILE) -> EvalSet:
    """Held-out chat lines shipped with the package (the first set by default)."""
    parsed = parse_chat_csv(chat_file(name).read_text(encoding="utf-8"))
    toxic = sum(parsed.toxic)
    title = "chat held-out" if name == CHAT_FILE else "fresh chat set"
    return EvalSet(
        f"{title} ({name}), {len(parsed.texts)} lines, {toxic} toxic",
        parsed.texts,
        parsed.labels,
        parsed.kinds,
    )


def jigsaw_set(csv_path: Path) -> EvalSet:
    """The held-out 20 % of the shared data (the split training uses); binary labels."""
    from safestream.moderation.training import data

    spl = data.load_split(csv_path)
    labels = tuple(frozenset({"toxicity"}) if y else frozenset() for y in spl.test_labels)
    return EvalSet(
        f"shared data held-out 20 %, {len(labels)} comments, {sum(spl.test_labels)} toxic",
        tuple(spl.test_texts),
        labels,
    )

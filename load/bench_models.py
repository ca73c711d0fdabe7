"""Speed of the moderation classifiers: single-message latency and batched throughput.

Usage::

    PYTHONPATH=. .venv/bin/python load/bench_models.py   # bundled models, threads 1 and 2
    PYTHONPATH=. .venv/bin/python load/bench_models.py --models default --threads 1
    PYTHONPATH=. .venv/bin/python load/bench_models.py --models detoxify-checkpoint:/m/x.ckpt

Each model is loaded once per torch thread count (``torch.set_num_threads``; it does not
matter for keyword / profanity-check, which do not use torch). Messages are short chat lines
(mostly benign, as real chat is), cycled. Prints a Markdown table for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import time
from collections.abc import Sequence

from safestream.moderation.classifiers import Classifier, load_classifier
from safestream.moderation.training.examples import HELD_OUT, train_examples

TORCH_MODELS = ("minilm", "default", "detoxify", "chat-minilm", "cascade-v1")


def _messages() -> list[str]:
    benign = [t for t, cats in train_examples() if not cats]
    toxic = [t for t, cats in HELD_OUT if cats]
    # About 1 toxic line in 8, interleaved.
    out: list[str] = []
    for i, line in enumerate(benign):
        out.append(line)
        if i % 7 == 0:
            out.append(toxic[(i // 7) % len(toxic)])
    return out


def _latency_ms(clf: Classifier, msgs: Sequence[str], n: int) -> tuple[float, float]:
    cycle = itertools.cycle(msgs)
    for _ in range(10):  # warm-up
        clf.predict([next(cycle)])
    times = []
    for _ in range(n):
        start = time.perf_counter()
        clf.predict([next(cycle)])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def _throughput(clf: Classifier, msgs: Sequence[str], batch: int, seconds: float) -> float:
    cycle = itertools.cycle(msgs)
    clf.predict([next(cycle) for _ in range(batch)])  # warm-up
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or done < 3 * batch:
        clf.predict([next(cycle) for _ in range(batch)])
        done += batch
    return done / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="keyword,profanity,minilm,default")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--single", type=int, default=300, help="calls for latency")
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput figure")
    args = parser.parse_args(argv)
    import torch

    msgs = _messages()
    batches = [int(b) for b in args.batches.split(",")]
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; "
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"python {platform.python_version()}, torch {torch.__version__}; "
        f"{len(msgs)} distinct chat lines, mean {sum(map(len, msgs)) / len(msgs):.0f} chars\n"
    )
    print("| model | torch threads | p50 ms (1 msg) | p99 ms (1 msg) | "
          + " | ".join(f"msg/s batch {b}" for b in batches) + " |")  # fmt: skip
    print("|---" * (4 + len(batches)) + "|")
    for spec in args.models.split(","):
        uses_torch = spec.startswith(TORCH_MODELS)
        for threads in [int(t) for t in args.threads.split(",")] if uses_torch else [1]:
            clf = load_classifier(spec, torch_threads=threads)
            p50, p99 = _latency_ms(clf, msgs, args.single)
            rates = [_throughput(clf, msgs, b, args.seconds) for b in batches]
            label = str(threads) if uses_torch else "n/a"
            print(f"| {spec} | {label} | {p50:.2f} | {p99:.2f} | "
                  + " | ".join(f"{r:,.0f}" for r in rates) + " |", flush=True)  # fmt: skip
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

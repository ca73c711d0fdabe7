"""Throughput and latency of a model through the moderation pool's micro-batching.

Usage::

    PYTHONPATH=. .venv/bin/python load/bench_pool.py --model default --senders 64 --seconds 20

A real :class:`~safestream.moderation.pool.ModerationPool` (``--workers`` workers, batches
of up to ``--batch-size`` texts, ``--batch-wait-ms``) under an actor system; ``--senders``
concurrent tasks each ask for one message's scores at a time, as rooms do, for
``--seconds``. Prints messages/s and the p50/p99 of one ask; then the same with one sender
(a quiet room: every message is a batch of one).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Sequence

import trio
from bench_models import _messages  # same chat lines as the model bench (load/ is on sys.path)

from actors import ActorSystem, ChildSpec, Registry, Supervisor
from safestream.metrics import Metrics
from safestream.moderation.classifiers import load_classifier
from safestream.moderation.pool import ModerationClient, ModerationPool, worker_names


async def _run(args: argparse.Namespace, senders: int) -> tuple[float, float, float]:
    clf = load_classifier(args.model, torch_threads=args.torch_threads)
    registry = Registry()
    pool = ModerationPool(
        clf,
        Metrics(),
        workers=args.workers,
        batch_size=args.batch_size,
        batch_wait_secs=args.batch_wait_ms / 1000,
        queue_size=4096,
    )
    root = Supervisor([ChildSpec(name="moderation", factory=lambda: pool)])
    msgs = itertools.cycle(_messages())
    latencies: list[float] = []
    async with ActorSystem.open(root, name="bench", registry=registry) as system:
        client = ModerationClient(
            [system.address(n) for n in worker_names(args.workers)], timeout=30.0
        )
        await client.score(["warm up"] * args.batch_size)
        deadline = time.perf_counter() + args.seconds

        async def sender() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                await client.score([next(msgs)])
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(senders):
                nursery.start_soon(sender)
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return len(latencies) / elapsed, 1000 * latencies[len(latencies) // 2], 1000 * p99


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0)
    parser.add_argument("--senders", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| model | workers | torch threads | senders | msg/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for senders in (args.senders, 1):
        rate, p50, p99 = trio.run(_run, args, senders)
        print(
            f"| {args.model} | {args.workers} | {args.torch_threads} | {senders} | "
            f"{rate:,.0f} | {p50:.1f} | {p99:.1f} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the moderation model's memory goes: RSS over many distinct chat lines, no server.

Builds the model as the server does (``safestream.node.load_model``: ``MODERATION_MODEL``,
``TORCH_THREADS``, the shipped chat model), scores ``--lines`` distinct chat lines from a
worker thread and prints one row per ``--every`` lines: RSS (``VmRSS``), glibc's heap
(``mallinfo2``: bytes in use and bytes free but kept, and mmapped; ``malloc_info``: the
number of arenas), the distinct ``(batch, tokens)`` input shapes the chat model has seen
and, with ``--tracemalloc``, the Python heap (and at the end the lines whose allocations
grew most since the first row).

``--mix``:

* ``varied``: lines of 1-40 words, a few long ones, in batches of 1..``--max-batch``;
* ``soak``: the lines of ``load/soak.py`` (a short phrase and a unique tag, 15 % toxic),
  one per model call as the pool sees them at ~1.5 lines/s, and for each toxic line the
  occlusion an explanation runs (the line and one variant per word, in chunks of
  ``BACKGROUND_SCORE_CHUNK`` = 16).

``--runner`` picks the threads that call ``predict``: ``trio`` (``trio.to_thread.run_sync``
under a ``CapacityLimiter``, the server's way), ``fixed`` (one long-lived thread),
``fresh`` (a new thread per call: the most thread churn possible), ``rotate`` (``--rotate``
long-lived threads taking turns), ``scatter`` (``--rotate`` threads, the first one for 19
calls in 20 and a random other one for the 20th, as when trio's thread cache hands the
call to another idle thread because the usual one is busy with database work) or
``inline``. ``--mkldnn on|off`` sets ``torch.backends.mkldnn.enabled``
after loading (``keep``: as the loader left it); ``--pad-max`` pads every batch to
``max_length`` (one sequence length); ``--trim-every N`` calls ``malloc_trim(0)`` every N
lines. Set ``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` in the environment to try
glibc's knobs. Figures: ``docs/benchmarks.md`` ("Model memory").

Run (about a minute per 20,000 lines on a 2-core box)::

    PYTHONPATH=. .venv/bin/python load/model_memory.py --lines 20000
    PYTHONPATH=. .venv/bin/python load/model_memory.py --mix soak --mkldnn on
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import queue
import random
import re
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import trio
from soak_traffic import BENIGN, TOXIC  # the soak's own lines

from safestream.moderation.classifiers import Classifier
from safestream.moderation.occlusion import variants, words_of
from safestream.node import load_model
from safestream.settings import Settings

_VOCABULARY = (
    "hi hello gg lol nice shot great stream today what game is this music from lisbon "
    "that was close play again who won the round wow clutch team chat mods please "
    "stupid idiot moron shut up watch your back trash noob i will find you"
)
WORDS = _VOCABULARY.split()

# One model call: its texts and how many chat lines it completes (0: an explanation's).
Call = tuple[list[str], int]


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks"),
            *("uordblks", "fordblks", "keepcost"),
        )
    ]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
_LIBC.mallinfo2.restype = MallInfo2
_LIBC.fopen.restype = ctypes.c_void_p


def varied_calls(lines: int, max_batch: int, seed: int) -> Iterator[Call]:
    """Distinct lines of 1-40 words (2 % repeated 5x), in batches of 1..`max_batch`."""
    rng = random.Random(seed)
    batch: list[str] = []
    size = rng.randint(1, max_batch)
    for i in range(lines):
        words = [
            rng.choice(WORDS) for _ in range(rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 14, 20, 40)))
        ]
        if rng.random() < 0.02:
            words *= 5  # a long line: cut to the model's max_length
        batch.append(
            " ".join([*words, f"#{rng.choice(('user', 'mod'))}{i}-{rng.randrange(10**6)}"])
        )
        if len(batch) == size:
            yield batch, len(batch)
            batch, size = [], rng.randint(1, max_batch)
    if batch:
        yield batch, len(batch)


def soak_calls(lines: int, chunk: int, seed: int) -> Iterator[Call]:
    """`load/soak.py`'s lines one per call; each toxic one also gets its occlusion."""
    rng = random.Random(seed)
    for i in range(lines):
        toxic = rng.random() < 0.15
        line = (
            f"{rng.choice(TOXIC if toxic else BENIGN)} #soak_user{i % 6}-{i}-{rng.randrange(10**6)}"
        )
        yield [line], 1
        if toxic:
            texts = [line, *variants(line, words_of(line, 40))]
            for start in range(0, len(texts), chunk):
                yield texts[start : start + chunk], 0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    return 0.0


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def arenas() -> int:
    """glibc arenas in use (``<heap nr=...>`` elements of ``malloc_info``)."""
    with tempfile.NamedTemporaryFile("r") as tmp:
        stream = _LIBC.fopen(tmp.name.encode(), b"w")
        _LIBC.malloc_info(0, ctypes.c_void_p(stream))
        _LIBC.fclose(ctypes.c_void_p(stream))
        return len(re.findall(r"<heap nr=", tmp.read()))


def run_calls(kind: str, call: Callable[[Call], None], work: Iterator[Call], rotate: int) -> None:
    """Every call of `work`, one at a time (as one moderation worker), on `kind`'s threads."""
    if kind == "inline":
        for item in work:
            call(item)
    elif kind == "fresh":
        for item in work:
            thread = threading.Thread(target=call, args=(item,))
            thread.start()
            thread.join()
    elif kind == "trio":

        async def offload() -> None:
            limiter = trio.CapacityLimiter(1)
            for item in work:
                await trio.to_thread.run_sync(call, item, limiter=limiter)

        trio.run(offload)
    else:
        _pool(call, work, 1 if kind == "fixed" else rotate, kind == "scatter")


def _pool(call: Callable[[Call], None], work: Iterator[Call], n: int, scatter: bool) -> None:
    """`n` long-lived threads: in turn, or (`scatter`) the first one but for 1 call in 20
    that goes to a random other one, as trio's thread cache hands a call to another idle
    thread when the usual one is busy with database work."""
    rng = random.Random(0)
    inboxes: list[queue.Queue[Call | None]] = [queue.Queue(1) for _ in range(n)]
    done: queue.Queue[bool] = queue.Queue()

    def loop(inbox: queue.Queue[Call | None]) -> None:
        while (item := inbox.get()) is not None:
            call(item)
            done.put(True)

    threads = [threading.Thread(target=loop, args=(inbox,)) for inbox in inboxes]
    for thread in threads:
        thread.start()
    for i, item in enumerate(work):
        if scatter:
            inboxes[rng.randrange(1, n) if rng.random() < 0.05 else 0].put(item)
        else:
            inboxes[i % n].put(item)
        done.get()
    for inbox in inboxes:
        inbox.put(None)
    for thread in threads:
        thread.join()


def watch_shapes(model: Any, shapes: set[tuple[int, ...]], pad_max: bool) -> None:
    """Record the chat model's input shapes in `shapes`; with `pad_max`, pad every batch
    to its `max_length`. No-op for models without the chat model."""
    inner = getattr(model, "_inner", model)  # FaultyModel is not used here, but harmless
    chat = getattr(inner, "chat", inner)
    tokenizer = getattr(chat, "_tokenizer", None)
    if tokenizer is None:
        if pad_max:
            raise SystemExit("--pad-max needs the default or chat-minilm model")
        return

    def tokenize(*args: Any, **kwargs: Any) -> Any:
        enc = tokenizer(*args, **(kwargs | {"padding": "max_length"} if pad_max else kwargs))
        shapes.add(tuple(enc["input_ids"].shape))
        return enc

    chat._tokenizer = tokenize


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="default", help="MODERATION_MODEL (default)")
    parser.add_argument("--lines", type=int, default=20_000, help="chat lines scored")
    parser.add_argument("--every", type=int, default=1000, help="chat lines per row")
    parser.add_argument("--mix", choices=("varied", "soak"), default="varied")
    parser.add_argument("--max-batch", type=int, default=16, help="largest batch (varied)")
    parser.add_argument("--torch-threads", type=int, default=1)
    runners = ("trio", "fixed", "fresh", "rotate", "scatter", "inline")
    parser.add_argument("--runner", choices=runners, default="trio")
    parser.add_argument("--rotate", type=int, default=4, help="threads (rotate, scatter)")
    parser.add_argument("--mkldnn", choices=("keep", "on", "off"), default="keep")
    parser.add_argument("--pad-max", action="store_true", help="one sequence length")
    parser.add_argument("--trim-every", type=int, default=0, help="malloc_trim every N lines")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--top", type=int, default=8, help="tracemalloc lines shown")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    model: Classifier = load_model(
        Settings(moderation_model=args.model, torch_threads=args.torch_threads)
    )
    import torch

    if args.mkldnn != "keep":
        torch.backends.mkldnn.enabled = args.mkldnn == "on"
    glibc = " ".join(f"{k}={v}" for k, v in os.environ.items() if k.startswith("MALLOC_"))
    print(
        f"model {model.name}; mix {args.mix}; runner {args.runner}; mkldnn "
        f"{torch.backends.mkldnn.enabled}; {glibc or 'glibc defaults'}; loaded in "
        f"{time.monotonic() - started:.1f} s; loadavg {loadavg()}"
    )
    shapes: set[tuple[int, ...]] = set()
    watch_shapes(model, shapes, args.pad_max)
    threads: set[int] = set()
    warm: list[tracemalloc.Snapshot] = []  # at the first row: growth past the warm-up
    if args.tracemalloc:
        tracemalloc.start(1)
    lines = texts = 0
    trims: list[float] = []  # seconds per malloc_trim call
    base = rss_mb()
    print(
        "lines   texts  rss_mb  d_rss  heap_used  heap_free  mmapped  arenas  threads"
        "  shapes  py_mb  secs"
    )

    def report() -> None:
        info = _LIBC.mallinfo2()
        py = tracemalloc.get_traced_memory()[0] / 2**20 if args.tracemalloc else 0.0
        rss = rss_mb()
        print(
            f"{lines:5d}  {texts:6d}  {rss:6.1f}  {rss - base:+5.1f}  {info.uordblks / 2**20:9.1f}"
            f"  {info.fordblks / 2**20:9.1f}  {info.hblkhd / 2**20:7.1f}  {arenas():6d}"
            f"  {len(threads):7d}  {len(shapes):6d}  {py:5.1f}  {time.monotonic() - started:4.0f}",
            flush=True,
        )
        if args.tracemalloc and lines and not warm:
            warm.append(tracemalloc.take_snapshot())

    def call(item: Call) -> None:
        nonlocal lines, texts
        batch, done = item
        threads.add(threading.get_ident())
        model.predict(batch)
        before, lines, texts = lines, lines + done, texts + len(batch)
        if lines // args.every != before // args.every:
            report()  # before a trim: the row shows the most that trimming leaves
        if args.trim_every and lines // args.trim_every != before // args.trim_every:
            t = time.perf_counter()
            _LIBC.malloc_trim(0)
            trims.append(time.perf_counter() - t)

    report()  # row 0: the model loaded, nothing scored yet
    if args.mix == "soak":
        work = soak_calls(args.lines, 16, args.seed)
    else:
        work = varied_calls(args.lines, args.max_batch, args.seed)
    run_calls(args.runner, call, work, args.rotate)
    if trims:
        print(
            f"malloc_trim: {len(trims)} calls, mean {1e3 * sum(trims) / len(trims):.1f} ms,"
            f" max {1e3 * max(trims):.1f} ms"
        )
    if warm:
        print(f"tracemalloc: top {args.top} lines by growth since the first row")
        for stat in tracemalloc.take_snapshot().compare_to(warm[0], "lineno")[: args.top]:
            print(f"  {stat}")


if __name__ == "__main__":
    main()

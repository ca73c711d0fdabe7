"""A live demo of the actor runtime: ``python -m actors.demo [--seconds N] [--seed S]``.

Runs a small tree (a ticker, a worker that crashes at random every few seconds, and a
nested ``one_for_all`` group) and prints the tree every half second, so restarts, mailbox
depths and last errors can be watched as they happen.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from .actor import Actor
from .backoff import Backoff
from .introspection import format_tree
from .spec import ChildSpec, Strategy
from .supervisor import Supervisor
from .system import ActorSystem

__all__ = ["build_tree", "main", "run_demo"]


@dataclass(frozen=True)
class Tick:
    """Sent by the ticker to the worker."""

    n: int


class Ticker(Actor):
    """Tells the worker a Tick every 0.2 s from its own loop."""

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        with self._until_stopping():
            while True:
                await trio.sleep(0.2)
                self.ticks += 1
                worker = self.system.lookup("worker")
                if worker is not None:
                    worker.tell_nowait(Tick(self.ticks))

    def introspect(self) -> dict[str, Any]:
        return {"ticks": self.ticks}


class FlakyWorker(Actor):
    """Handles ticks and crashes with probability ``crash_rate`` per tick."""

    mailbox_capacity = 16

    def __init__(self, rng: random.Random, crash_rate: float) -> None:
        self.rng = rng
        self.crash_rate = crash_rate

    async def handle(self, message: Any) -> Any:
        if isinstance(message, Tick):
            if self.rng.random() < self.crash_rate:
                raise RuntimeError(f"flaked on tick {message.n}")
            return message.n
        return await super().handle(message)


class Sleeper(Actor):
    """Does nothing; shows up as a member of the one_for_all group."""


def build_tree(rng: random.Random) -> Supervisor:
    """The demo's root supervisor."""

    def flaky(rate: float) -> Callable[[], Actor]:
        return lambda: FlakyWorker(rng, rate)

    def group() -> Supervisor:
        return Supervisor(
            [ChildSpec("a", Sleeper), ChildSpec("b", flaky(0.0)), ChildSpec("c", Sleeper)],
            strategy=Strategy.ONE_FOR_ALL,
        )

    return Supervisor(
        [
            ChildSpec("ticker", Ticker),
            ChildSpec("worker", flaky(0.08), register="worker"),
            ChildSpec("group", group),
        ],
        max_restarts=20,
        within=10.0,
        backoff=Backoff(initial=0.1, maximum=1.0),
    )


async def run_demo(seconds: float, seed: int | None = None, out: Any = None) -> None:
    """Run the demo tree for ``seconds`` and print it every 0.5 s to ``out``.

    Every 3 s it also crashes the group's ``b`` so the one_for_all restart shows.
    """
    stream = out if out is not None else sys.stdout
    rng = random.Random(seed)
    async with ActorSystem.open(build_tree(rng), name="demo", rng=rng) as system:
        with trio.move_on_after(seconds):
            frame = 0
            while True:
                print(f"--- t={frame * 0.5:.1f}s", file=stream)
                print(format_tree(system.snapshot()), file=stream, flush=True)
                if frame and frame % 6 == 0:
                    group = system.root.child_ref("group")
                    member = group and group._cell.actor
                    if isinstance(member, Supervisor):
                        target = member.child_ref("b")
                        if target is not None:
                            target.tell_nowait("not a tick")  # crashes b
                frame += 1
                await trio.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible runs")
    args = parser.parse_args(argv)
    trio.run(run_demo, args.seconds, args.seed)


if __name__ == "__main__":
    main()

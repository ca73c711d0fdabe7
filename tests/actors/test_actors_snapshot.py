"""Snapshots, the text tree, watch() rate limiting, and the demo."""

from __future__ import annotations

import io
import json
from contextlib import aclosing
from typing import Any

import pytest
import trio
import trio.testing
from actorkit import Crash, Echo, Wait, worker

from actors import ActorDied, ActorSystem, ChildSpec, Strategy, Supervisor, format_tree
from actors.demo import run_demo

NODE_KEYS = {
    "name",
    "path",
    "kind",
    "status",
    "restarts",
    "last_error",
    "mailbox",
    "handled",
    "uptime",
    "info",
    "children",
}


def tree(log: list[str]) -> Supervisor:
    def group() -> Supervisor:
        return Supervisor([worker("x", log)], strategy=Strategy.ONE_FOR_ALL, within=7.0)

    return Supervisor([worker("w", log, mailbox_capacity=8), ChildSpec("g", group)])


async def test_snapshot_reports_tree_counters_and_last_error_under_load(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with ActorSystem.open(tree(log), name="app") as system:
        ref = system.root.child_ref("w")
        assert ref is not None
        for i in range(3):
            await ref.ask(Echo(i), timeout=1)
        with pytest.raises(ActorDied):
            await ref.ask(Crash("kaput"), timeout=1)
        crashed_at = trio.current_time()
        await trio.sleep(1)
        gate = trio.Event()
        await ref.tell(Wait(gate))
        for i in range(5):
            await ref.tell(Echo(i))
        await trio.testing.wait_all_tasks_blocked()

        snap = system.snapshot()
        json.dumps(snap)
        assert set(snap) == NODE_KEYS
        assert (snap["name"], snap["path"], snap["kind"]) == ("app", "/app", "Supervisor")
        assert snap["info"] == {"strategy": "one_for_one", "max_restarts": 3, "within": 5.0}
        w, g = snap["children"]
        assert set(w) == NODE_KEYS
        assert (w["path"], w["kind"], w["status"]) == ("/app/w", "Worker", "running")
        assert w["restarts"] == 1
        assert w["handled"] == 4
        assert w["last_error"] == {"type": "ValueError", "message": "kaput", "at": crashed_at}
        assert w["mailbox"] == {
            "depth": 5,
            "capacity": 8,
            "dropped": 0,
            "sent": 10,
            "policy": "block",
        }
        assert w["uptime"] == pytest.approx(1.0)
        assert w["info"] == {"seen": 1}
        assert g["info"]["strategy"] == "one_for_all"
        assert g["info"]["within"] == 7.0
        assert [c["path"] for c in g["children"]] == ["/app/g/x"]
        assert g["children"][0]["children"] == []
        gate.set()


async def test_snapshot_shows_restarting_status_during_backoff(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    from actors import Backoff

    root = Supervisor([worker("w", log)], backoff=Backoff(initial=2.0, maximum=5.0, jitter=0.0))
    async with ActorSystem.open(root) as system:
        ref = system.root.child_ref("w")
        assert ref is not None
        await ref.tell(Crash())
        await trio.sleep(1)
        assert system.snapshot()["children"][0]["status"] == "restarting"
        await trio.sleep(2)
        assert system.snapshot()["children"][0]["status"] == "running"


async def test_snapshot_survives_an_introspect_that_raises(log: list[str]) -> None:
    from actorkit import Worker

    class Broken(Worker):
        def introspect(self) -> dict[str, Any]:
            raise RuntimeError("nope")

    root = Supervisor([ChildSpec("b", lambda: Broken(log))])
    async with ActorSystem.open(root) as system:
        info = system.snapshot()["children"][0]["info"]
        assert "nope" in info["introspect_error"]


def test_snapshot_of_a_system_that_is_not_running_is_empty() -> None:
    assert ActorSystem().snapshot() == {}
    assert format_tree({}) == "(no actors)"


async def test_format_tree_renders_indented_nodes_with_status_and_errors(
    log: list[str],
) -> None:
    async with ActorSystem.open(tree(log)) as system:
        ref = system.root.child_ref("w")
        assert ref is not None
        with pytest.raises(ActorDied):
            await ref.ask(Crash("kaput"), timeout=1)
        await trio.testing.wait_all_tasks_blocked()
        lines = format_tree(system.snapshot()).splitlines()
    assert lines[0].startswith("system [Supervisor]  running")
    assert lines[1].startswith("├── w [Worker]  running  restarts=1  mailbox=0/8")
    assert lines[1].endswith("last_error=ValueError: kaput")
    assert lines[2].startswith("└── g [Supervisor]")
    assert lines[3].startswith("    └── x [Worker]")


async def test_watch_yields_current_snapshot_then_only_changes(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with ActorSystem.open(tree(log)) as system:
        ref = system.root.child_ref("w")
        assert ref is not None
        seen: list[tuple[float, int]] = []

        async def consume() -> None:
            async with aclosing(system.watch(interval=1.0)) as feed:
                async for snap in feed:
                    seen.append((trio.current_time(), snap["children"][0]["handled"]))

        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await trio.sleep(5.5)  # nothing changes: only the first snapshot
            await ref.ask(Echo(1), timeout=1)
            await trio.sleep(3)
            nursery.cancel_scope.cancel()
        assert [(t - start, handled) for t, handled in seen] == [(0, 0), (6, 1)]


async def test_watch_rate_limits_to_one_snapshot_per_interval(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with ActorSystem.open(tree(log)) as system:
        ref = system.root.child_ref("w")
        assert ref is not None
        times: list[float] = []

        async def load() -> None:
            for i in range(100):  # a change every 0.1 s
                await ref.tell(Echo(i))
                await trio.sleep(0.1)

        async def consume() -> None:
            async with aclosing(system.watch(interval=0.5)) as feed:
                async for _ in feed:
                    times.append(trio.current_time())

        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await load()
            nursery.cancel_scope.cancel()
        offsets = [round(t - start, 6) for t in times]
        assert offsets == [round(0.5 * i, 6) for i in range(len(offsets))]
        assert len(offsets) == 20  # t = 0.0 .. 9.5 while the load runs 10 s


async def test_demo_prints_the_tree_with_restarts(autojump_clock: trio.testing.MockClock) -> None:
    out = io.StringIO()
    await run_demo(4.0, seed=1, out=out)
    text = out.getvalue()
    assert text.count("--- t=") == 8
    assert "ticker [Ticker]" in text
    assert "group [Supervisor]" in text
    assert "restarts=1" in text

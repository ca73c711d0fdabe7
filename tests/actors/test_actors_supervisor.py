"""Supervisors: strategies, restart types, intensity, backoff, shutdown, dynamic children."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
import trio
import trio.testing
from actorkit import Crash, Echo, Exit, Stubborn, Worker, factory, worker

from actors import (
    ActorDied,
    ActorSystem,
    Backoff,
    ChildSpec,
    Restart,
    Strategy,
    Supervisor,
    SupervisorGaveUp,
)


async def crash(system: ActorSystem, name: str, sup: Supervisor | None = None) -> None:
    """Crash child ``name`` through an ask and wait until the supervisor has reacted."""
    ref = (sup or system.root).child_ref(name)
    assert ref is not None
    with pytest.raises(ActorDied):
        await ref.ask(Crash(), timeout=1)
    await trio.testing.wait_all_tasks_blocked()


EXPECTED_RESTARTS = {
    (Strategy.ONE_FOR_ONE, "a"): ["stop:a", "start:a"],
    (Strategy.ONE_FOR_ONE, "b"): ["stop:b", "start:b"],
    (Strategy.ONE_FOR_ONE, "c"): ["stop:c", "start:c"],
    (Strategy.ONE_FOR_ALL, "a"): ["stop:a", "stop:c", "stop:b", "start:a", "start:b", "start:c"],
    (Strategy.ONE_FOR_ALL, "b"): ["stop:b", "stop:c", "stop:a", "start:a", "start:b", "start:c"],
    (Strategy.ONE_FOR_ALL, "c"): ["stop:c", "stop:b", "stop:a", "start:a", "start:b", "start:c"],
    (Strategy.REST_FOR_ONE, "a"): ["stop:a", "stop:c", "stop:b", "start:a", "start:b", "start:c"],
    (Strategy.REST_FOR_ONE, "b"): ["stop:b", "stop:c", "start:b", "start:c"],
    (Strategy.REST_FOR_ONE, "c"): ["stop:c", "start:c"],
}


@pytest.mark.parametrize(("strategy", "crashed"), list(EXPECTED_RESTARTS))
async def test_strategy_restarts_exactly_the_affected_children_in_order(
    strategy: Strategy, crashed: str, log: list[str]
) -> None:
    root = Supervisor([worker(n, log) for n in "abc"], strategy=strategy)
    async with ActorSystem.open(root) as system:
        assert log == ["start:a", "start:b", "start:c"]
        log.clear()
        await crash(system, crashed)
        assert log == EXPECTED_RESTARTS[strategy, crashed]
        restarted = {entry[6:] for entry in log if entry.startswith("start:")}
        restarts = {node["name"]: node["restarts"] for node in system.snapshot()["children"]}
        assert restarts == {n: int(n in restarted) for n in "abc"}
        assert system.root.children() == ["a", "b", "c"]
        for name in "abc":
            ref = system.root.child_ref(name)
            assert ref is not None
            assert await ref.ask(Echo(name), timeout=1) == name


@pytest.mark.parametrize(
    ("restart", "message", "restarted"),
    [
        (Restart.PERMANENT, Exit(), True),
        (Restart.PERMANENT, Crash(), True),
        (Restart.TRANSIENT, Exit(), False),
        (Restart.TRANSIENT, Crash(), True),
        (Restart.TEMPORARY, Exit(), False),
        (Restart.TEMPORARY, Crash(), False),
    ],
)
async def test_restart_type_decides_restart_after_normal_exit_or_crash(
    restart: Restart, message: Any, restarted: bool, log: list[str]
) -> None:
    root = Supervisor([worker("w", log, restart=restart, register="w")])
    async with ActorSystem.open(root) as system:
        ref = system.lookup("w")
        assert ref is not None
        await ref.tell(message)
        await trio.testing.wait_all_tasks_blocked()
        assert log == (["start:w", "stop:w", "start:w"] if restarted else ["start:w", "stop:w"])
        assert system.root.children() == (["w"] if restarted else [])
        assert ref.alive is restarted
        assert (system.lookup("w") == ref) is restarted


async def test_intensity_allows_exactly_max_restarts_within_window(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    root = Supervisor([worker("w", log)], max_restarts=3, within=5)
    async with ActorSystem.open(root) as system:
        for _ in range(3):
            await crash(system, "w")
        assert system.snapshot()["children"][0]["restarts"] == 3
        assert system.snapshot()["status"] == "running"


async def test_intensity_exceeded_gives_up_and_propagates_out_of_the_system(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    root = Supervisor([worker("a", log), worker("w", log)], max_restarts=3, within=5)
    with pytest.raises(SupervisorGaveUp) as info:
        async with ActorSystem.open(root) as system:
            for _ in range(3):
                await crash(system, "w")
            log.clear()
            await crash(system, "w")
            pytest.fail("the system should have been cancelled")
    assert isinstance(info.value.cause, ValueError)
    assert log == ["stop:w", "stop:a"]


async def test_restarts_older_than_the_window_are_forgotten(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    root = Supervisor([worker("w", log)], max_restarts=3, within=5)
    async with ActorSystem.open(root) as system:
        for _ in range(10):
            await crash(system, "w")
            await trio.sleep(2)
        assert system.snapshot()["children"][0]["restarts"] == 10


async def test_nested_supervisor_gives_up_and_its_parent_restarts_it(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    def group() -> Supervisor:
        return Supervisor([worker("x", log), worker("y", log)], max_restarts=2, within=5)

    root = Supervisor([worker("a", log), ChildSpec("group", group)], max_restarts=3)
    async with ActorSystem.open(root) as system:
        for _ in range(2):
            sub = system.root._children["group"].cell.actor
            assert isinstance(sub, Supervisor)
            await crash(system, "y", sub)
        log.clear()
        await crash(system, "y", sub)
        assert log == ["stop:y", "stop:x", "start:x", "start:y"]
        group_node = system.snapshot()["children"][1]
        assert group_node["restarts"] == 1
        assert group_node["status"] == "running"
        assert group_node["last_error"]["type"] == "SupervisorGaveUp"
        assert [c["restarts"] for c in group_node["children"]] == [0, 0]
        assert system.snapshot()["children"][0]["restarts"] == 0


async def restart_delays(seed: int, backoff: Backoff, crashes: int) -> list[float]:
    """The delays between each of `crashes` crashes of one child and its restart."""
    starts: list[float] = []

    class Timed(Worker):
        async def on_start(self) -> None:
            starts.append(trio.current_time())

    root = Supervisor(
        [ChildSpec("w", factory(Timed, []))], max_restarts=10, within=100, backoff=backoff
    )
    crashed_at: list[float] = []
    async with ActorSystem.open(root, rng=random.Random(seed)) as system:
        for _ in range(crashes):
            crashed_at.append(trio.current_time())
            await crash(system, "w")
            await trio.sleep(10)  # the restart happens during this sleep
    return [start - crash for start, crash in zip(starts[1:], crashed_at, strict=True)]


async def test_backoff_delays_grow_to_the_maximum_within_jitter_and_repeat_with_the_seed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backoff = Backoff(initial=1.0, maximum=3.0, multiplier=2.0, jitter=0.1)
    delays = await restart_delays(7, backoff, crashes=4)
    for delay, base in zip(delays, (1.0, 2.0, 3.0, 3.0), strict=True):
        assert 0.9 * base <= delay <= 1.1 * base
    assert len(set(delays)) == 4  # jittered: no two alike, not the bare schedule
    # The same seed gives the same delays (up to the clock's float rounding), another not.
    assert await restart_delays(7, backoff, crashes=4) == pytest.approx(delays, rel=1e-9)
    assert await restart_delays(8, backoff, crashes=4) != pytest.approx(delays, rel=1e-3)


def test_backoff_delay_grows_to_the_maximum_without_jitter() -> None:
    backoff = Backoff(initial=0.5, maximum=3.0, multiplier=3.0, jitter=0.0)
    rng = random.Random(1)
    assert [backoff.delay(n, rng) for n in (1, 2, 3, 4)] == [0.5, 1.5, 3.0, 3.0]
    assert Backoff().delay(5, rng) == 0.0


@pytest.mark.parametrize("kwargs", [{"jitter": 2.0}, {"initial": -1.0}, {"multiplier": 0.5}])
def test_backoff_rejects_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


async def test_orderly_shutdown_stops_children_in_reverse_start_order(log: list[str]) -> None:
    def group() -> Supervisor:
        return Supervisor([worker("x", log), worker("y", log)])

    root = Supervisor([worker("a", log), ChildSpec("g", group), worker("c", log)])
    async with ActorSystem.open(root):
        assert log == ["start:a", "start:x", "start:y", "start:c"]
        log.clear()
    assert log == ["stop:c", "stop:y", "stop:x", "stop:a"]


async def test_child_ignoring_stop_is_cancelled_exactly_after_its_grace(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    root = Supervisor(
        [
            ChildSpec("stubborn", factory(Stubborn, log), shutdown_timeout=3.0),
            worker("polite", log, shutdown_timeout=3.0),
        ]
    )
    async with ActorSystem.open(root) as system:
        start = trio.current_time()
        await system.root.terminate_child("polite")
        assert trio.current_time() == start
        await system.root.terminate_child("stubborn")
        assert trio.current_time() - start == pytest.approx(3.0)
        assert log[-2:] == ["stop:polite", "stop:stubborn"]
        assert system.root.children() == []


async def test_system_shutdown_waits_each_grace_in_reverse_order(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    root = Supervisor(
        [
            ChildSpec("s1", factory(Stubborn, log), shutdown_timeout=1.0),
            ChildSpec("s2", factory(Stubborn, log), shutdown_timeout=2.0),
        ]
    )
    async with ActorSystem.open(root):
        start = trio.current_time()
    assert trio.current_time() - start == pytest.approx(3.0)
    assert log[-2:] == ["stop:s2", "stop:s1"]


async def test_start_child_returns_after_on_start_and_rejects_duplicates(
    log: list[str],
) -> None:
    async with ActorSystem.open(Supervisor()) as system:
        ref = await system.root.start_child(worker("dyn", log, register="dyn"))
        assert log == ["start:dyn"]
        assert system.lookup("dyn") == ref
        assert await ref.ask(Echo(1), timeout=1) == 1
        with pytest.raises(ValueError):
            await system.root.start_child(worker("dyn", log))
        with pytest.raises(ValueError):
            await system.root.start_child(worker("other", log, register="dyn"))
        assert system.root.children() == ["dyn"]


class FailsToStart(Worker):
    async def on_start(self) -> None:
        raise OSError("no socket")


async def test_start_child_raises_on_start_failure_and_forgets_the_child(
    log: list[str],
) -> None:
    async with ActorSystem.open(Supervisor()) as system:
        with pytest.raises(OSError, match="no socket"):
            await system.root.start_child(
                ChildSpec("bad", factory(FailsToStart, log), register="bad")
            )
        assert system.root.children() == []
        assert system.lookup("bad") is None


async def test_initial_child_start_failure_fails_the_supervisor(log: list[str]) -> None:
    root = Supervisor([worker("a", log), ChildSpec("bad", factory(FailsToStart, log))])
    with pytest.raises(OSError, match="no socket"):
        async with ActorSystem.open(root):
            pytest.fail("must not start")
    assert log == ["start:a", "stop:bad", "stop:a"]


async def test_registry_name_is_kept_across_restarts_and_removed_on_final_stop(
    log: list[str],
) -> None:
    root = Supervisor([worker("w", log, restart=Restart.TRANSIENT, register="svc")])
    async with ActorSystem.open(root) as system:
        ref = system.lookup("svc")
        assert ref is not None
        await crash(system, "w")
        assert system.lookup("svc") == ref
        assert system.registry.names() == ["svc"]
        await ref.tell(Exit())
        await trio.testing.wait_all_tasks_blocked()
        assert system.lookup("svc") is None
        assert system.registry.names() == []


async def test_one_for_all_does_not_restart_temporary_siblings(log: list[str]) -> None:
    root = Supervisor(
        [worker("a", log), worker("t", log, restart=Restart.TEMPORARY), worker("c", log)],
        strategy=Strategy.ONE_FOR_ALL,
    )
    async with ActorSystem.open(root) as system:
        log.clear()
        await crash(system, "a")
        assert log == ["stop:a", "stop:c", "stop:t", "start:a", "start:c"]
        assert system.root.children() == ["a", "c"]


@dataclass(frozen=True)
class Spawn:
    name: str


class Spawner(Supervisor):
    """A supervisor subclass that starts children when told to."""

    def __init__(self, log: list[str]) -> None:
        super().__init__(strategy=Strategy.ONE_FOR_ONE)
        self.log = log

    async def handle(self, message: Any) -> Any:
        if isinstance(message, Spawn):
            ref = await self.start_child(worker(message.name, self.log))
            return ref.path
        return await super().handle(message)


async def test_supervisor_subclass_handles_messages_and_starts_children(log: list[str]) -> None:
    async with ActorSystem.open(Spawner(log), name="app") as system:
        path = await system.root.ref.ask(Spawn("room1"), timeout=1)
        assert path == "/app/room1"
        assert system.root.children() == ["room1"]
        assert log == ["start:room1"]


async def test_supervisor_crashes_on_unhandled_message_and_stops_children_in_order(
    log: list[str],
) -> None:
    def group() -> Supervisor:
        return Supervisor([worker("x", log), worker("y", log)])

    root = Supervisor([ChildSpec("g", group)], max_restarts=1)
    async with ActorSystem.open(root) as system:
        ref = system.root.child_ref("g")
        assert ref is not None
        log.clear()
        await ref.tell("what?")
        await trio.testing.wait_all_tasks_blocked()
        assert log == ["stop:y", "stop:x", "start:x", "start:y"]
        assert system.snapshot()["children"][0]["last_error"]["type"] == "UnhandledMessage"


def test_supervisor_rejects_duplicate_child_names(log: list[str]) -> None:
    with pytest.raises(ValueError):
        Supervisor([worker("a", log), worker("a", log)])


async def test_cancelling_the_system_cancels_children_without_grace_and_runs_on_stop(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    root = Supervisor(
        [
            worker("a", log),
            ChildSpec("stubborn", factory(Stubborn, log), shutdown_timeout=100.0),
        ]
    )
    start = trio.current_time()
    with trio.move_on_after(1.0):
        async with ActorSystem.open(root):
            await trio.sleep_forever()
    assert trio.current_time() - start == pytest.approx(1.0)
    # Outer cancellation reaches every task at once: no grace, and no ordering promise.
    assert sorted(log[-2:]) == ["stop:a", "stop:stubborn"]


def test_registry_rejects_a_name_held_by_a_live_ref_and_replaces_a_dead_one() -> None:
    from actors import Registry

    class FakeRef:
        def __init__(self, alive: bool) -> None:
            self.alive = alive
            self.path = "/fake"

    registry = Registry()
    live, dead, other = FakeRef(True), FakeRef(False), FakeRef(True)
    registry.register("x", dead)  # type: ignore[arg-type]
    assert registry.lookup("x") is None
    registry.register("x", live)  # type: ignore[arg-type]
    assert registry.lookup("x") is live
    with pytest.raises(ValueError):
        registry.register("x", other)  # type: ignore[arg-type]
    registry.unregister("x", other)  # type: ignore[arg-type]
    assert registry.names() == ["x"]
    registry.unregister("x")
    registry.unregister("x")
    assert registry.names() == []

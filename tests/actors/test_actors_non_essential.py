"""Non-essential children: a crash loop never makes the supervisor give up; the child is
restarted ever more slowly, alone, while its siblings are supervised as usual."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from actorkit import Crash, Echo, worker

from actors import ActorDied, ActorSystem, Backoff, ChildSpec, Supervisor, SupervisorGaveUp

SLOW = Backoff(initial=1.0, maximum=8.0, multiplier=2.0, jitter=0.0)


def flaky(log: list[str], **kwargs: object) -> ChildSpec:
    spec = worker("extra", log, register="extra")
    return ChildSpec(
        spec.name, spec.factory, register="extra", essential=False, backoff=SLOW, **kwargs
    )


async def crash_and_time_the_restart(system: ActorSystem) -> float:
    ref = system.lookup("extra")
    assert ref is not None
    with pytest.raises(ActorDied):
        await ref.ask(Crash(), timeout=1)
    started = trio.current_time()
    with trio.fail_after(100):
        while (await ref.ask(Echo("up"), timeout=100)) != "up":
            pass
    return trio.current_time() - started


async def test_a_crash_loop_in_a_non_essential_child_never_gives_up_and_backs_off(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    root = Supervisor([flaky(log)], max_restarts=1, within=60.0)
    async with ActorSystem.open(root, name="app") as system:
        delays = [round(await crash_and_time_the_restart(system), 3) for _ in range(8)]
        assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0]
        assert system.snapshot()["status"] == "running"


async def test_a_non_essential_child_that_stayed_up_restarts_quickly_again(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    async with ActorSystem.open(Supervisor([flaky(log)]), name="app") as system:
        for _ in range(4):
            await crash_and_time_the_restart(system)
        await trio.sleep(2 * SLOW.maximum + 1)
        assert await crash_and_time_the_restart(system) == pytest.approx(SLOW.initial)


async def test_siblings_are_supervised_while_a_non_essential_child_waits(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    root = Supervisor([flaky(log), worker("core", log, register="core")])
    async with ActorSystem.open(root, name="app") as system:
        for _ in range(4):  # the extra child now waits 8 s before each restart
            await crash_and_time_the_restart(system)
        extra = system.lookup("extra")
        assert extra is not None
        with pytest.raises(ActorDied):
            await extra.ask(Crash(), timeout=1)
        core = system.lookup("core")
        assert core is not None
        before = trio.current_time()
        with pytest.raises(ActorDied):
            await core.ask(Crash(), timeout=1)
        assert await core.ask(Echo("core up"), timeout=5) == "core up"
        assert trio.current_time() - before < 1.0
        assert await extra.ask(Echo("extra up"), timeout=20) == "extra up"


async def test_an_essential_crash_loop_still_makes_the_supervisor_give_up(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    with pytest.raises(SupervisorGaveUp):
        async with ActorSystem.open(
            Supervisor([worker("core", log, register="core")], max_restarts=2, within=10.0),
            name="app",
        ) as system:
            for _ in range(3):
                core = system.lookup("core")
                assert core is not None
                with pytest.raises(ActorDied):
                    await core.ask(Crash(), timeout=1)
                await trio.testing.wait_all_tasks_blocked()
            await trio.sleep_forever()

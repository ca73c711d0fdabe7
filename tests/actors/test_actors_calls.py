"""Supervisor calls by message (OTP start_child/terminate_child/which_children) and
registry addresses that follow a name across restarts."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from actorkit import Echo, Exit, Worker, worker

from actors import (
    ActorDied,
    ActorNotRunning,
    ActorSystem,
    ChildSpec,
    Restart,
    Supervisor,
    start_child,
    terminate_child,
    which_children,
)


class FailsToStart(Worker):
    async def on_start(self) -> None:
        raise RuntimeError("no database")


async def test_start_child_by_message_returns_a_working_ref(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    async with ActorSystem.open(Supervisor(), name="app") as system:
        ref = await start_child(system.root.ref, worker("a", log), timeout=1)
        assert await ref.ask(Echo(7), timeout=1) == 7
        assert log == ["start:a"]
        assert [name for name, _ in await which_children(system.root.ref, timeout=1)] == ["a"]


async def test_a_child_that_fails_to_start_raises_in_the_caller_not_the_supervisor(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    async with ActorSystem.open(Supervisor(), name="app") as system:
        spec = ChildSpec("bad", lambda: FailsToStart(log), register="bad")
        with pytest.raises(RuntimeError, match="no database"):
            await start_child(system.root.ref, spec, timeout=1)
        assert await which_children(system.root.ref, timeout=1) == []
        assert system.lookup("bad") is None
        # The supervisor still serves calls after its caller's failed start.
        ref = await start_child(system.root.ref, worker("good", log), timeout=1)
        assert await ref.ask(Echo("ok"), timeout=1) == "ok"


async def test_start_child_with_a_taken_name_raises_value_error(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    async with ActorSystem.open(Supervisor([worker("a", log)]), name="app") as system:
        with pytest.raises(ValueError, match="already has a child"):
            await start_child(system.root.ref, worker("a", log), timeout=1)


async def test_terminate_child_stops_it_in_order_and_reports_unknown_names(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    async with ActorSystem.open(
        Supervisor([worker("a", log, register="a"), worker("b", log)]), name="app"
    ) as system:
        assert await terminate_child(system.root.ref, "a", timeout=1) is True
        assert await terminate_child(system.root.ref, "a", timeout=1) is False
        assert log[-1] == "stop:a"
        assert system.lookup("a") is None
        assert [name for name, _ in await which_children(system.root.ref, timeout=1)] == ["b"]


async def test_address_reaches_whoever_holds_the_name_now(
    autojump_clock: trio.testing.MockClock, log: list[str]
) -> None:
    spec = worker("w", log, restart=Restart.TRANSIENT, register="w")
    async with ActorSystem.open(Supervisor([spec]), name="app") as system:
        address = system.address("w")
        first = address.ref()
        assert await address.ask(Echo(1), timeout=1) == 1
        await address.ask(Exit(), timeout=1)  # a normal exit: transient, not restarted
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(ActorNotRunning, match="'w'"):
            address.tell_nowait(Echo(2))
        await start_child(system.root.ref, spec, timeout=1)
        assert address.ref() != first
        assert await address.ask(Echo(3), timeout=1) == 3


async def test_supervisor_still_crashes_on_messages_it_does_not_know(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with ActorSystem.open(Supervisor(), name="app") as system:
        sup = await start_child(
            system.root.ref, ChildSpec("inner", Supervisor, restart=Restart.TEMPORARY), timeout=1
        )
        with pytest.raises(ActorDied):
            await sup.ask("hello", timeout=1)
        await trio.testing.wait_all_tasks_blocked()
        assert await which_children(system.root.ref, timeout=1) == []

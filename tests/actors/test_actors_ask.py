"""tell/ask semantics: answers, timeouts, crashes, deferred replies, final stops."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from actorkit import Answer, Crash, Defer, Echo, Exit, Wait, Worker, worker

from actors import (
    Actor,
    ActorDied,
    ActorNotRunning,
    ActorRef,
    ActorSystem,
    AskTimeout,
    ChildSpec,
    Envelope,
    MailboxFull,
    OverflowPolicy,
    Restart,
    Supervisor,
    UnhandledMessage,
)


@asynccontextmanager
async def one_worker(
    log: list[str], **spec_kwargs: Any
) -> AsyncIterator[tuple[ActorSystem, ActorRef[Any]]]:
    root = Supervisor([worker("w", log, **spec_kwargs)], max_restarts=100)
    async with ActorSystem.open(root, rng=random.Random(0)) as system:
        ref = system.root.child_ref("w")
        assert ref is not None
        yield system, ref


def current_worker(system: ActorSystem) -> Worker:
    ref = system.root.child_ref("w")
    assert ref is not None
    actor = ref._cell.actor
    assert isinstance(actor, Worker)
    return actor


async def test_ask_returns_handle_result(log: list[str]) -> None:
    async with one_worker(log) as (_, ref):
        assert await ref.ask(Echo(42), timeout=1) == 42
        assert ref.statistics().sent == 1


async def test_tell_delivers_in_order(log: list[str]) -> None:
    async with one_worker(log) as (system, ref):
        for i in range(3):
            await ref.tell(Echo(i))
        ref.tell_nowait(Echo(3))
        assert await ref.ask(Echo("last"), timeout=1) == "last"
        assert current_worker(system).seen == [Echo(0), Echo(1), Echo(2), Echo(3), Echo("last")]


async def test_ask_times_out_exactly_at_its_deadline_with_a_timeout_error(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log) as (_, ref):
        gate = trio.Event()
        start = trio.current_time()
        with pytest.raises(TimeoutError) as info:  # callers may catch the builtin
            await ref.ask(Wait(gate), timeout=2.0)
        assert isinstance(info.value, AskTimeout)
        assert trio.current_time() - start == pytest.approx(2.0)
        gate.set()


async def test_ask_answered_just_before_deadline_succeeds(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log) as (_, ref):
        gate = trio.Event()

        async def open_gate() -> None:
            await trio.sleep(1.999)
            gate.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(open_gate)
            assert await ref.ask(Wait(gate), timeout=2.0) == "waited"


async def test_ask_pending_when_actor_crashes_raises_actor_died_promptly(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log) as (_, ref):
        gate = trio.Event()
        start = trio.current_time()

        async def crash_soon() -> None:
            await trio.sleep(1)
            gate.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(crash_soon)
            with pytest.raises(ActorDied) as info:
                await ref.ask(Wait(gate, then_crash=True), timeout=60)
        assert trio.current_time() - start == pytest.approx(1)
        assert isinstance(info.value.cause, ValueError)


async def test_ask_whose_handler_raises_gets_actor_died_with_cause_and_actor_restarts(
    log: list[str],
) -> None:
    async with one_worker(log) as (system, ref):
        with pytest.raises(ActorDied) as info:
            await ref.ask(Crash("bad input"), timeout=1)
        assert isinstance(info.value.cause, ValueError)
        assert str(info.value.cause) == "bad input"
        assert await ref.ask(Echo("again"), timeout=1) == "again"
        assert system.snapshot()["children"][0]["restarts"] == 1
        assert log == ["start:w", "stop:w", "start:w"]


async def test_unhandled_message_crashes_the_actor(log: list[str]) -> None:
    async with one_worker(log) as (_, ref):
        with pytest.raises(ActorDied) as info:
            await ref.ask("not a known message", timeout=1)
        assert isinstance(info.value.cause, UnhandledMessage)


async def test_messages_queued_during_a_crash_reach_the_next_incarnation(log: list[str]) -> None:
    async with one_worker(log) as (system, ref):
        gate = trio.Event()
        await ref.tell(Wait(gate, then_crash=True))
        await ref.tell(Echo(1))
        await ref.tell(Echo(2))
        await trio.testing.wait_all_tasks_blocked()
        gate.set()
        assert await ref.ask(Echo(3), timeout=1) == 3
        assert current_worker(system).seen == [Echo(1), Echo(2), Echo(3)]


async def test_ask_to_terminated_actor_raises_actor_not_running(log: list[str]) -> None:
    async with one_worker(log, restart=Restart.TEMPORARY) as (system, ref):
        assert await ref.ask(Exit(), timeout=1) == "bye"
        await trio.testing.wait_all_tasks_blocked()
        assert not ref.alive
        assert system.root.children() == []
        with pytest.raises(ActorNotRunning):
            await ref.ask(Echo(1), timeout=1)
        with pytest.raises(ActorNotRunning):
            await ref.tell(Echo(1))
        with pytest.raises(ActorNotRunning):
            ref.tell_nowait(Echo(1))


async def test_deferred_reply_is_answered_later(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log) as (_, ref), trio.open_nursery() as nursery:
        answers: list[Any] = []

        async def ask_deferred() -> None:
            answers.append(await ref.ask(Defer(), timeout=5))

        nursery.start_soon(ask_deferred)
        await trio.testing.wait_all_tasks_blocked()
        assert answers == []
        start = trio.current_time()
        await ref.tell(Answer("later"))
        await trio.testing.wait_all_tasks_blocked()
        assert answers == ["later"]
        assert trio.current_time() == start  # answered by the Answer, not by a timeout


async def test_deferred_reply_fails_with_actor_died_when_incarnation_crashes(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log) as (_, ref), trio.open_nursery() as nursery:
        outcome: list[BaseException] = []

        async def ask_deferred() -> None:
            try:
                await ref.ask(Defer(), timeout=60)
            except ActorDied as exc:
                outcome.append(exc)

        nursery.start_soon(ask_deferred)
        await trio.testing.wait_all_tasks_blocked()
        start = trio.current_time()
        await ref.tell(Crash("lost it"))
        await trio.testing.wait_all_tasks_blocked()
        assert trio.current_time() == start
        assert len(outcome) == 1
        assert isinstance(outcome[0], ActorDied)
        assert str(outcome[0].cause) == "lost it"


async def test_defer_reply_during_a_tell_crashes_the_actor(log: list[str]) -> None:
    async with one_worker(log) as (system, ref):
        await ref.tell(Defer())
        await trio.testing.wait_all_tasks_blocked()
        error = system.snapshot()["children"][0]["last_error"]
        assert error["type"] == "RuntimeError"


async def test_queued_asks_fail_with_actor_died_when_actor_stops_for_good(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log, restart=Restart.TEMPORARY) as (system, ref):
        gate = trio.Event()
        failures: list[type[BaseException]] = []

        async def ask(message: Any) -> None:
            try:
                await ref.ask(message, timeout=60)
            except ActorDied as exc:
                failures.append(type(exc))

        async with trio.open_nursery() as nursery:
            await ref.tell(Wait(gate))
            for i in range(3):
                nursery.start_soon(ask, Echo(i))
            await trio.testing.wait_all_tasks_blocked()
            assert ref.statistics().depth == 3
            await ref.tell(Exit())  # queued behind the asks
            nursery.start_soon(system.root.terminate_child, "w")
            await trio.testing.wait_all_tasks_blocked()
            start = trio.current_time()
            gate.set()
            await trio.testing.wait_all_tasks_blocked()
            assert failures == [ActorDied, ActorDied, ActorDied]
            assert trio.current_time() == start  # failed at the stop, not by their timeouts
        assert not ref.alive


async def test_tell_nowait_raises_mailbox_full_when_full(log: list[str]) -> None:
    async with one_worker(log, mailbox_capacity=2) as (_, ref):
        gate = trio.Event()
        ref.tell_nowait(Wait(gate))
        await trio.testing.wait_all_tasks_blocked()
        ref.tell_nowait(Echo(1))
        ref.tell_nowait(Echo(2))
        with pytest.raises(MailboxFull):
            ref.tell_nowait(Echo(3))
        gate.set()


async def test_ask_evicted_by_drop_oldest_fails_with_mailbox_full(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log, mailbox_capacity=1, overflow=OverflowPolicy.DROP_OLDEST) as (
        system,
        ref,
    ):
        gate = trio.Event()
        errors: list[BaseException] = []

        async def ask_first() -> None:
            try:
                await ref.ask(Echo("first"), timeout=60)
            except MailboxFull as exc:
                errors.append(exc)

        await ref.tell(Wait(gate))
        await trio.testing.wait_all_tasks_blocked()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask_first)
            await trio.testing.wait_all_tasks_blocked()
            start = trio.current_time()
            await ref.tell(Echo("second"))
            await trio.testing.wait_all_tasks_blocked()
            assert [type(e) for e in errors] == [MailboxFull]
            assert trio.current_time() == start  # failed at the eviction, not by its timeout
        assert ref.statistics().dropped == 1
        gate.set()
        await trio.testing.wait_all_tasks_blocked()
        assert current_worker(system).seen == [Wait(gate), Echo("second")]


async def test_ask_dropped_by_drop_newest_fails_with_mailbox_full(
    log: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    async with one_worker(log, mailbox_capacity=1, overflow=OverflowPolicy.DROP_NEWEST) as (
        system,
        ref,
    ):
        gate = trio.Event()
        await ref.tell(Wait(gate))
        await trio.testing.wait_all_tasks_blocked()
        await ref.tell(Echo("queued"))
        start = trio.current_time()
        with pytest.raises(MailboxFull):
            await ref.ask(Echo("dropped"), timeout=60)
        assert trio.current_time() == start  # refused at once, not by its timeout
        gate.set()
        await trio.testing.wait_all_tasks_blocked()
        assert current_worker(system).seen == [Wait(gate), Echo("queued")]


class Pair(Actor):
    """A custom run(): a side task plus the receive/dispatch loop in its own nursery."""

    def __init__(self, side_crash: trio.Event, crashes: list[int]) -> None:
        self.side_crash = side_crash
        self.crashes = crashes

    async def handle(self, message: Any) -> Any:
        return ("pair", message)

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.side)
            while (envelope := await self.receive()) is not None:
                assert isinstance(envelope, Envelope)
                await self.dispatch(envelope)
            nursery.cancel_scope.cancel()

    async def side(self) -> None:
        await self.side_crash.wait()
        if self.crashes:
            self.crashes.pop()  # only one incarnation crashes
            raise KeyError("side task failed")
        await trio.sleep_forever()


async def test_custom_run_receives_and_dispatches_and_its_nursery_crash_is_unwrapped() -> None:
    crash = trio.Event()
    crashes = [1]
    root = Supervisor([ChildSpec("pair", lambda: Pair(crash, crashes))])
    async with ActorSystem.open(root) as system:
        ref = system.root.child_ref("pair")
        assert ref is not None
        assert await ref.ask(1, timeout=1) == ("pair", 1)
        crash.set()
        await trio.testing.wait_all_tasks_blocked()
        node = system.snapshot()["children"][0]
        assert node["last_error"]["type"] == "KeyError"
        assert node["restarts"] == 1


async def test_dispatch_accepts_a_bare_message_as_a_tell(log: list[str]) -> None:
    async with one_worker(log) as (system, ref):
        await current_worker(system).dispatch(Echo("bare"))
        assert current_worker(system).seen == [Echo("bare")]
        assert ref.statistics().sent == 0


def test_actor_properties_need_a_running_actor(log: list[str]) -> None:
    with pytest.raises(RuntimeError):
        _ = Worker(log).ref

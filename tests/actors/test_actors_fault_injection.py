"""Fault injection: a Crash message crashes any actor loop built on receive()."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from actors import Actor, ActorDied, ActorSystem, ChildSpec, Crash, Supervisor


class Echo(Actor):
    async def handle(self, message: Any) -> Any:
        return message


class Batcher(Actor):
    async def run(self) -> None:
        while batch := await self.receive_batch(max_size=10, max_wait=1.0):
            for envelope in batch:
                if envelope.reply is not None:
                    envelope.reply.send(envelope.message)


async def test_crash_message_restarts_a_default_loop_actor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    root = Supervisor([ChildSpec("echo", Echo, register="echo")], max_restarts=3, within=10)
    async with ActorSystem.open(root) as system:
        ref = system.lookup("echo")
        assert ref is not None
        await ref.tell(Crash("on purpose"))
        await trio.testing.wait_all_tasks_blocked()
        node = system.snapshot()["children"][0]
        assert node["restarts"] == 1
        assert node["last_error"]["type"] == "InjectedCrash"
        assert node["last_error"]["message"] == "on purpose"
        assert await ref.ask("still here", timeout=1) == "still here"


async def test_crash_message_reaches_batching_loops_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    root = Supervisor([ChildSpec("batcher", Batcher, register="b")], max_restarts=3, within=10)
    async with ActorSystem.open(root) as system:
        ref = system.lookup("b")
        assert ref is not None
        await ref.tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert system.snapshot()["children"][0]["restarts"] == 1
        assert await ref.ask(7, timeout=5) == 7


async def test_a_crash_while_gathering_a_batch_fails_the_gathered_asks_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    root = Supervisor([ChildSpec("batcher", Batcher, register="b")], max_restarts=3, within=10)
    async with ActorSystem.open(root) as system:
        ref = system.lookup("b")
        assert ref is not None
        answers: list[Any] = []

        async def ask(message: Any) -> None:
            try:
                answers.append(await ref.ask(message, timeout=30))
            except ActorDied as exc:
                answers.append(type(exc.cause).__name__)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, 1)  # gathered, then the batch waits max_wait for more
            await trio.testing.wait_all_tasks_blocked()
            ref.tell_nowait(Crash())
            started = trio.current_time()
        assert answers == ["InjectedCrash"]
        assert trio.current_time() - started < 1.0  # not the asker's 30 s timeout
        assert await ref.ask(7, timeout=5) == 7


async def test_find_by_snapshot_path(autojump_clock: trio.testing.MockClock) -> None:
    inner = ChildSpec("inner", lambda: Supervisor([ChildSpec("leaf", Echo)]))
    async with ActorSystem.open(Supervisor([inner]), name="app") as system:
        leaf = system.find("/app/inner/leaf")
        assert leaf is not None and await leaf.ask("x", timeout=1) == "x"
        assert system.find("/app/nothing") is None
        assert system.find("/app") is not None

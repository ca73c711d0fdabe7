"""Small actors and helpers shared by the actor runtime tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from actors import Actor, ChildSpec, Reply, Restart


@dataclass(frozen=True)
class Echo:
    value: Any


@dataclass(frozen=True)
class Crash:
    reason: str = "boom"


@dataclass(frozen=True)
class Exit:
    pass


@dataclass(frozen=True)
class Wait:
    event: trio.Event
    then_crash: bool = False


@dataclass(frozen=True)
class Defer:
    pass


@dataclass(frozen=True)
class Answer:
    value: Any


class Worker(Actor):
    """Logs start/stop to a shared list and obeys the messages above."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.deferred: list[Reply[Any]] = []
        self.seen: list[Any] = []

    async def on_start(self) -> None:
        self.log.append(f"start:{self.name}")

    async def on_stop(self) -> None:
        self.log.append(f"stop:{self.name}")

    async def handle(self, message: Any) -> Any:
        self.seen.append(message)
        match message:
            case Echo(value):
                return value
            case Crash(reason):
                raise ValueError(reason)
            case Exit():
                self.stop()
                return "bye"
            case Wait(event, then_crash):
                await event.wait()
                if then_crash:
                    raise ValueError("crashed while waiting")
                return "waited"
            case Defer():
                self.deferred.append(self.defer_reply())
                return None
            case Answer(value):
                self.deferred.pop(0).send(value)
                return None
        return await super().handle(message)

    def introspect(self) -> dict[str, Any]:
        return {"seen": len(self.seen)}


class Stubborn(Worker):
    """Ignores graceful stop requests: only cancellation ends it."""

    async def run(self) -> None:
        await trio.sleep_forever()


def worker(
    name: str, log: list[str], restart: Restart = Restart.PERMANENT, **kwargs: Any
) -> ChildSpec:
    return ChildSpec(name, lambda: Worker(log), restart=restart, **kwargs)


def factory(cls: type[Worker], log: list[str]) -> Callable[[], Actor]:
    return lambda: cls(log)

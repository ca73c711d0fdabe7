"""A policy timeout is applied at once and stored with the user; when that write fails
it is counted and kept on this node until it is written (the sanctions sync retries)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import trio
import trio.testing
from appkit import InlineDatabase, open_node
from sqlalchemy.exc import OperationalError

from safestream.chat.room_messages import SetPolicy
from safestream.moderation.policy import Band, RoomPolicy
from safestream.store import repo

T = TypeVar("T")
TIME_OUT_TOXIC = RoomPolicy(version=3, bands=(Band("toxicity", 0.5, "timeout"),))


class MuteWritesFail(InlineDatabase):
    """Stores messages, but every write of a user's mute fails (a database hiccup)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if fn is repo.set_mute:
            raise OperationalError("UPDATE users", {}, Exception("database is away"))
        return await super().run(fn, *args)


async def test_a_timeout_whose_write_failed_holds_here_and_waits_to_be_written(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, database=MuteWritesFail) as node:
        room = await node.room()
        await room.tell(SetPolicy(TIME_OUT_TOXIC))
        ann = await node.join("demo_user")
        await ann.frame("history")
        await ann.post("fuck you")
        await ann.frame("timeout")
        await trio.testing.wait_all_tasks_blocked()
        sanctions = node.parts.sanctions
        assert node.parts.metrics.refused["mute_not_stored"] == 1
        assert sanctions.muted_for("demo_user") == TIME_OUT_TOXIC.timeout_secs
        assert list(sanctions.unstored_mutes()) == ["demo_user"]

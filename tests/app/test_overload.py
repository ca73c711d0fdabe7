"""Overload: when the server is behind, the room refuses posts (`room_busy`, with its
cause) and sheds presence and gifts; viewers that read are never cut off for it, and
nothing accepted is dropped. A viewer that stops reading is still closed 4008."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing
from appkit import gated_offload, open_node

from safestream.chat.frames import gift_frame, notice_frame
from safestream.chat.protocol import CloseCode
from safestream.chat.room_messages import Broadcast, RoomInfo


async def test_viewers_behind_on_delivery_make_the_room_refuse_posts_until_caught_up(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, room_busy_delivery_ms=1000) as node:
        # `behind` reads (its socket takes bytes) but the server never gets to write to
        # it: the backlog is the server's.
        behind = await node.join("behind", capacity=4, reading=True)
        joined = trio.current_time()  # its history frame has waited since then
        ann = await node.join("ann")
        for text in ("one", "two", "three", "four", "five"):
            await ann.post(text)
        await ann.frames("chat", count=5)
        assert behind.outbox.statistics().depth > 4  # over capacity, kept
        assert behind.outbox.close_request is None

        await trio.sleep(joined + 0.95 - trio.current_time())
        await ann.post("under the limit")
        assert (await ann.frame("chat"))["message"] == "under the limit"

        await trio.sleep(joined + 1.15 - trio.current_time())
        await ann.post("over the limit")
        error = await ann.frame("error")
        assert error["code"] == "room_busy" and "delivery" in error["detail"]
        assert node.parts.metrics.room_busy == {"delivery": 1}
        info = await (await node.room()).ask(RoomInfo(), timeout=1)
        assert info["busy"] == "delivery" and info["delivery_lag_ms"] > 1000

        # The server catches up: everything accepted is there, in order, nothing lost.
        messages = [f["message"] for f in await behind.frames("chat", count=6)]
        assert messages == ["one", "two", "three", "four", "five", "under the limit"]
        await trio.sleep(0.2)  # the next measurement (at most every 100 ms) sees it
        await ann.post("accepted again")
        assert (await ann.frame("chat"))["message"] == "accepted again"
        assert behind.outbox.close_request is None


async def test_a_viewer_that_stopped_reading_does_not_make_the_room_busy(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, room_busy_delivery_ms=1000) as node:
        await node.join("stopped", capacity=64)  # its socket is full: its own problem
        ann = await node.join("ann")
        await trio.sleep(5)
        await ann.post("still fine")
        assert (await ann.frame("chat"))["message"] == "still fine"
        assert not node.parts.metrics.room_busy


async def test_a_pipeline_behind_refuses_posts_and_delivers_everything_it_accepted(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    gate = trio.Event()

    async with open_node(
        tmp_path,
        offload=gated_offload(gate),
        room_busy_pipeline_ms=2000,
        moderation_batch_size=1,
        moderation_timeout_secs=30,
    ) as node:
        ann = await node.join("ann")
        start = trio.current_time()
        await ann.post("a")  # in the model, which does not answer
        await trio.sleep(start + 1.95 - trio.current_time())
        await ann.post("b")  # queued: the oldest post has waited 1.95 s
        await trio.sleep(start + 2.05 - trio.current_time())
        await ann.post("c")
        error = await ann.frame("error")
        assert error["code"] == "room_busy" and "moderation" in error["detail"]
        assert node.parts.metrics.room_busy == {"pipeline": 1}
        assert node.parts.metrics.refused["room_busy"] == 1
        gate.set()
        chats = await ann.frames("chat", count=2)
        assert [(c["message"], c["seq"]) for c in chats] == [("a", 1), ("b", 2)]
        await ann.post("d")
        assert (await ann.frame("chat"))["seq"] == 3


async def test_presence_and_gifts_are_shed_for_viewers_behind_and_the_chat_is_not(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, room_busy_delivery_ms=60_000) as node:
        behind = await node.join("behind", capacity=4, reading=True)  # history + presence
        ann = await node.join("ann")  # presence changes: sent within a second
        await trio.sleep(1.5)
        presence = await ann.frames("presence", count=2)  # on joining, then the room's tick
        assert [frame["viewers"] for frame in presence] == [2, 2]
        room = await node.room()
        gift = gift_frame(room="main", sender="bob", gift_id="rose", amount=1, ts=1.0)
        await room.tell(Broadcast(gift, optional=True))
        notice = notice_frame("main", "notice", text="stream starts soon")
        await room.tell(Broadcast(notice))
        await ann.post("hello")
        assert [f["type"] for f in await ann.frames(count=3)] == ["gift", "notice", "chat"]
        kinds = [f["type"] for f in await behind.frames(count=4)]
        assert kinds == ["history", "presence", "notice", "chat"]
        assert node.parts.metrics.shed == {"presence": 1, "gift": 1}
        assert behind.outbox.statistics().shed == 2
        assert behind.outbox.close_request is None


async def test_a_stalled_viewer_over_capacity_is_still_closed_too_slow(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        stalled = await node.join("stalled", capacity=3)
        ann = await node.join("ann")
        for text in ("one", "two"):
            await ann.post(text)
        await ann.frames("chat", count=2)
        request = stalled.outbox.close_request
        assert request is not None and request.code == CloseCode.TOO_SLOW
        assert node.parts.metrics.slow_consumers == 1

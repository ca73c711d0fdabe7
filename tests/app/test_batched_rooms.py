"""Batched members (`?batch=1`): the room builds one array frame per tick and every
batched member gets the same bytes; their own frames, late joins, one-event members in
the same room, kicks and shutdown lose nothing and keep the order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio
import trio.testing
from appkit import open_node

from safestream.chat.frames import gift_frame
from safestream.chat.protocol import SHUTDOWN_REASON, CloseCode
from safestream.chat.room_messages import Broadcast, CloseUser, SetPolicy
from safestream.chat.wsframes import frame_payload
from safestream.moderation.policy import Band, RoomPolicy


def events(raw: bytes) -> list[dict[str, Any]]:
    parsed = json.loads(frame_payload(raw))
    assert isinstance(parsed, list), "a batched member gets arrays only"
    return parsed


async def test_every_batched_member_gets_the_same_array_bytes_once_per_tick(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=20.0) as node:
        ann = await node.join("ann", batched=True)
        bob = await node.join("bob", batched=True)
        one_event = await node.join("cy")
        await ann.frames("presence")
        await bob.frames("presence")
        await trio.sleep(1.5)  # the presence change of the joins is sent and read
        for box in (ann.outbox, bob.outbox):
            while box.statistics().depth:
                await box.next_batch()
        for i in range(3):
            await one_event.post(f"m{i}")
        chats = await one_event.frames("chat", count=3)  # one frame each, at once
        assert [c["message"] for c in chats] == ["m0", "m1", "m2"]
        start = trio.current_time()
        [first] = await ann.outbox.next_batch()
        [second] = await bob.outbox.next_batch()
        assert first is second  # framed once for the whole room
        assert [e["message"] for e in events(first)] == ["m0", "m1", "m2"]
        assert trio.current_time() - start <= 0.02


async def test_a_batched_members_own_frames_come_in_its_array_in_their_place(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=100.0) as node:
        ann = await node.join("ann", batched=True)
        bob = await node.join("bob", batched=True)
        [joined] = await ann.outbox.next_batch()
        assert [e["type"] for e in events(joined)] == ["history", "presence"]
        await bob.frames("presence")
        room = await node.room()
        await room.tell(SetPolicy(RoomPolicy(bands=(Band("toxicity", 0.9, "block"),))))
        await bob.frames("policy")  # the policy change
        await ann.frames("policy")
        for text in ("hello", "fuck you", "bye"):  # the second is blocked: ann is told
            await ann.post(text)
        [mine] = await ann.outbox.next_batch()
        [theirs] = await bob.outbox.next_batch()
        assert [e.get("message") for e in events(theirs)] == ["hello", "bye"]
        told = [(e["type"], e.get("message")) for e in events(mine)]
        assert told == [("chat", "hello"), ("blocked", "fuck you"), ("chat", "bye")]


async def test_a_member_joining_during_a_tick_gets_its_history_and_then_only_newer_events(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=100.0) as node:
        ann = await node.join("ann", batched=True)
        await ann.frames("presence")
        await ann.post("before")
        await trio.sleep(0.05)  # moderated and stored: in the tick, not yet sent
        assert ann.outbox.statistics().depth == 0
        late = await node.join("late", batched=True)  # during the same tick
        await ann.post("after")
        frames = await late.frames(count=3)
        assert [f["type"] for f in frames] == ["history", "presence", "chat"]
        assert [m["message"] for m in frames[0]["messages"]] == ["before"]
        assert frames[2]["message"] == "after"


async def test_batched_and_one_event_members_of_one_room_get_everything_in_order(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=20.0) as node:
        batched = await node.join("ann", batched=True)
        plain = await node.join("bob")
        for i in range(30):
            await plain.post(f"m{i}")
            if i % 7 == 6:
                await trio.sleep(0.013)
        expected = [f"m{i}" for i in range(30)]
        assert [c["message"] for c in await batched.frames("chat", count=30)] == expected
        assert [c["message"] for c in await plain.frames("chat", count=30)] == expected


async def test_optional_events_are_shed_from_the_array_of_a_batched_member_behind(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=20.0, room_busy_delivery_ms=60_000) as node:
        behind = await node.join("behind", batched=True, capacity=2, reading=True)
        poster = await node.join("poster", batched=True)
        await trio.sleep(1.5)  # ticks queue in behind's outbox: it is past half capacity
        assert behind.outbox.sheds_optional()
        room = await node.room()
        gift = gift_frame(room="main", sender="bob", gift_id="rose", amount=1, ts=1.0)
        await room.tell(Broadcast(gift, optional=True))
        await poster.post("hello")
        assert [f["type"] for f in await poster.frames("chat")] == ["chat"]
        kinds = [f["type"] for f in await behind.frames(count=3)]
        assert "gift" not in kinds and kinds[-1] == "chat"
        assert node.parts.metrics.shed["gift"] == 1


async def test_a_kick_sends_what_the_tick_holds_for_the_member_before_closing_it(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=1000.0) as node:
        ann = await node.join("ann", batched=True)
        room = await node.room()
        closed = await room.ask(CloseUser("ann", CloseCode.KICKED, "kicked"), timeout=5)
        assert closed == 1
        assert [f["type"] for f in await ann.frames(count=2)] == ["history", "presence"]
        assert ann.outbox.close_request is not None
        assert ann.outbox.close_request.code == CloseCode.KICKED


async def test_a_draining_node_sends_the_pending_tick_then_closes_with_going_away(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=1000.0) as node:
        ann = await node.join("ann", batched=True)
        node.parts.draining.set()
        await trio.testing.wait_all_tasks_blocked()
        assert [f["type"] for f in await ann.frames(count=2)] == ["history", "presence"]
        request = ann.outbox.close_request
        assert request is not None
        assert (request.code, request.reason) == (CloseCode.GOING_AWAY, SHUTDOWN_REASON)


async def test_batched_members_keep_getting_ticks_after_a_kick_between_ticks(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=20.0) as node:
        ann = await node.join("ann", batched=True)
        await node.join("bob")
        await ann.frames("presence")
        room = await node.room()
        assert await room.ask(CloseUser("bob", CloseCode.KICKED, "kicked"), timeout=5) == 1
        for text in ("one", "two"):
            await ann.post(text)
            assert (await ann.frame("chat"))["message"] == text

"""Room actor behaviour on a whole node, deterministic (autojump_clock, no sockets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from appkit import gated_offload, open_node

from actors import Crash
from safestream.chat.protocol import ROOM_RESTART_REASON, SHUTDOWN_REASON, CloseCode
from safestream.chat.room_messages import Leave, SetPolicy
from safestream.chat.room_supervisor import ShuttingDown, open_room, running_rooms
from safestream.moderation.policy import RoomPolicy
from safestream.store import repo


async def test_chat_is_stamped_scored_stored_and_fanned_out(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann = await node.join("ann")
        bob = await node.join("bob")
        await ann.post("hello")
        frame = await bob.frame("chat")
        assert (frame["user"], frame["message"], frame["seq"]) == ("ann", "hello", 1)
        assert (await ann.frame("chat"))["id"] == frame["id"]
        assert node.parts.metrics.messages_total == 1


async def test_history_survives_a_node_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann = await node.join("ann")
        for text in ("one", "two"):
            await ann.post(text)
        await ann.frames("chat", count=2)
    async with open_node(tmp_path) as node:
        bob = await node.join("bob", since=1)
        history = await bob.frame("history")
        assert history["recovered"] is True
        assert [m["message"] for m in history["messages"]] == ["two"]
        await bob.post("three")
        assert (await bob.frame("chat"))["seq"] == 3


async def test_slow_mode_refuses_until_exactly_the_interval(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        room = await node.room()
        await room.tell(SetPolicy(RoomPolicy(slow_mode_secs=10.0)))
        ann = await node.join("ann")
        await ann.post("first")
        await ann.frame("chat")
        await trio.sleep(9.9)
        await ann.post("too soon")
        assert (await ann.frame("error"))["code"] == "slow_mode"
        await trio.sleep(0.1)
        await ann.post("on time")
        assert (await ann.frame("chat"))["message"] == "on time"


async def test_moderators_are_exempt_from_slow_mode(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        room = await node.room()
        await room.tell(SetPolicy(RoomPolicy(slow_mode_secs=60.0)))
        mod = await node.join("mod", role="moderator")
        await mod.post("one")
        await mod.post("two")
        assert [f["message"] for f in await mod.frames("chat", count=2)] == ["one", "two"]


async def test_duplicate_limit_refuses_at_max_duplicates(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        room = await node.room()
        await room.tell(SetPolicy(RoomPolicy(max_duplicates=2, duplicate_window_secs=30)))
        ann = await node.join("ann")
        await ann.post("spam")
        await ann.post("SPAM")
        await ann.frames("chat", count=2)
        await ann.post("spam")
        assert (await ann.frame("error"))["code"] == "duplicate"
        await trio.sleep(30)
        await ann.post("spam")
        assert (await ann.frame("chat"))["message"] == "spam"


async def test_mute_refuses_and_expires(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann = await node.join("ann")
        node.parts.sanctions.mute("ann", 300)
        await ann.post("hi")
        assert (await ann.frame("error"))["code"] == "muted"
        await trio.sleep(300)
        await ann.post("back")
        assert (await ann.frame("chat"))["message"] == "back"


async def test_blocked_terms_are_masked(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        room = await node.room()
        await room.tell(SetPolicy(RoomPolicy(blocked_terms=("spoiler",))))
        ann = await node.join("ann")
        await ann.post("big Spoiler ahead")
        frame = await ann.frame("chat")
        assert frame["message"] == "big ******* ahead"
        assert frame["action"] == "mask"


async def test_full_outbox_closes_the_viewer_too_slow_and_room_goes_on(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        slow = await node.join("slow", capacity=3)  # history + presence already queued
        ann = await node.join("ann")
        await ann.post("one")
        await ann.post("two")
        await ann.frames("chat", count=2)
        request = slow.outbox.close_request
        assert request is not None and request.code == CloseCode.TOO_SLOW
        assert node.parts.metrics.slow_consumers == 1
        await ann.post("three")
        assert (await ann.frame("chat"))["message"] == "three"


async def test_empty_room_passivates_after_idle_secs_and_restarts_on_join(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, room_idle_secs=60.0, cleanup_interval=1.0) as node:
        ann = await node.join("ann")
        await ann.post("hi")
        await ann.frame("chat")
        await ann.room.tell(Leave(ann.conn_id))
        await trio.sleep(59)
        assert [name for name, _ in running_rooms(node.system.registry)] == ["main"]
        await trio.sleep(2)
        assert running_rooms(node.system.registry) == []
        bob = await node.join("bob")
        history = await bob.frame("history")
        assert [m["message"] for m in history["messages"]] == ["hi"]


async def test_crashed_room_closes_members_to_recover_and_restarts_with_its_history(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann = await node.join("ann")
        await ann.post("before the crash")
        await ann.frame("chat")
        await ann.room.tell(Crash("test"))
        with trio.fail_after(5):
            while await ann.outbox.next_batch():  # drains, then [] once the close is asked
                pass
        assert ann.outbox.close_request is not None
        assert ann.outbox.close_request.code == CloseCode.SERVICE_RESTART
        bob = await node.join("bob", since=0)
        history = await bob.frame("history")
        assert history["recovered"] is True
        assert [m["message"] for m in history["messages"]] == ["before the crash"]
        await bob.post("after")
        assert (await bob.frame("chat"))["seq"] == 2
        tree = node.system.snapshot()["children"]
        rooms = next(child for child in tree if child["name"] == "rooms")["children"]
        assert [(room["name"], room["restarts"]) for room in rooms] == [("room:main", 1)]


async def test_a_crashed_rooms_supervisor_closes_members_with_service_restart_not_going_away(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann = await node.join("ann")
        await ann.frame("history")
        await node.system.address("rooms").tell(Crash("test"))
        with trio.fail_after(5):
            while await ann.outbox.next_batch():
                pass
        request = ann.outbox.close_request
        assert request is not None
        assert (request.code, request.reason) == (CloseCode.SERVICE_RESTART, ROOM_RESTART_REASON)
        bob = await node.join("bob", since=0)
        assert (await bob.frame("history"))["recovered"] is True


async def test_a_room_restarted_after_a_crash_first_waits_for_its_predecessors_batch(
    tmp_path: Path,
) -> None:
    """The crashed room's batch was with the store: the new room must not read its last
    seq before that batch is written, or it would reuse the seqs and never replay it."""
    async with open_node(tmp_path) as node:
        db, writing, gate = node.parts.db, trio.Event(), trio.Event()
        inline = db.run

        async def gated(fn: Any, *args: Any) -> Any:
            if fn is repo.insert_batch:
                writing.set()
                await gate.wait()
            return await inline(fn, *args)

        db.run = gated  # type: ignore[method-assign]
        ann = await node.join("ann")
        await ann.frame("history")
        await ann.post("in flight")
        with trio.fail_after(10):
            await writing.wait()
            await ann.room.tell(Crash("test"))
            async with trio.open_nursery() as nursery:
                joined: list[Any] = []

                async def join() -> None:
                    joined.append(await node.join("bob", since=0))

                nursery.start_soon(join)
                await trio.testing.wait_all_tasks_blocked()
                gate.set()
            bob = joined[0]
            history = await bob.frame("history")
            assert [(m["message"], m["seq"]) for m in history["messages"]] == [("in flight", 1)]
            await bob.post("next")
            assert (await bob.frame("chat"))["seq"] == 2


async def test_a_draining_node_closes_members_with_going_away_and_refuses_joins(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann = await node.join("ann")
        await ann.frame("history")
        node.parts.draining.set()
        await trio.testing.wait_all_tasks_blocked()
        request = ann.outbox.close_request  # at once, not when the room stops
        assert request is not None
        assert (request.code, request.reason) == (CloseCode.GOING_AWAY, SHUTDOWN_REASON)
        with pytest.raises(ShuttingDown):
            await open_room(node.system.address("rooms"), "main", timeout=5)


async def test_full_pipeline_refuses_with_room_busy_and_keeps_seq_dense(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    gate = trio.Event()

    async with open_node(
        tmp_path, offload=gated_offload(gate), room_mailbox_size=2, moderation_batch_size=1
    ) as node:
        ann = await node.join("ann")
        for text in ("a", "b", "c", "d"):
            await ann.post(text)
        # one message in the model, two queued behind it: the fourth is refused
        assert (await ann.frame("error"))["code"] == "room_busy"
        gate.set()
        chats = await ann.frames("chat", count=3)
        assert [(c["message"], c["seq"]) for c in chats] == [("a", 1), ("b", 2), ("c", 3)]


async def test_an_orderly_stop_stores_the_posts_already_in_the_pipeline(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async def slow_model(fn: Any, *args: Any, limiter: Any = None) -> Any:
        await trio.sleep(1.0)  # the post is still being scored when the node stops
        return fn(*args)

    async with open_node(tmp_path, offload=slow_model) as node:
        ann = await node.join("ann")
        await ann.frame("history")
        await ann.post("last words")
        await trio.testing.wait_all_tasks_blocked()
        db = node.parts.db
    stored = db.run_sync(repo.room_history, "main", 10)
    assert [m.text for m in stored] == ["last words"]


async def test_the_room_tells_how_long_ago_the_first_message_after_a_seq_was_stamped(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann = await node.join("ann")
        await ann.frame("history")
        posted = []
        for text in ("one", "two", "three"):  # seq 1, 2, 3, a second apart
            posted.append(trio.current_time())
            await ann.post(text)
            await ann.frame("chat")
            await trio.sleep(1)
        room = (await node.room())._cell.actor
        now = trio.current_time()
        for seq in (0, 1, 2):
            assert room.stamped_age(seq) == pytest.approx(now - posted[seq])
        assert room.stamped_age(3) == 0.0  # nothing after it

"""A room's tick for batched viewers: one array per tick, shared bytes, a member's own
frames in their place, a late joiner only what came after it, optional events shed."""

import json
from typing import Any

from safestream.chat.tick import Tick, TickFrames
from safestream.chat.wsframes import event_frame, frame_payload, split_frames


def event(n: int, kind: str = "chat") -> bytes:
    return event_frame({"type": kind, "n": n})


def array_for(tick: Tick, conn_id: int, shed_optional: bool) -> tuple[bytes | None, list[str]]:
    """A batched member's array and what was shed from it."""
    got = tick.for_member(conn_id, batched=True, shed_optional=shed_optional)
    assert got.frames == (1 if got.data else 0)
    return got.data, got.shed


def payload(frame: bytes | None) -> list[dict[str, Any]]:
    assert frame is not None
    events: list[dict[str, Any]] = json.loads(frame_payload(frame))
    return events


def test_every_member_without_frames_of_its_own_gets_the_same_array_bytes() -> None:
    frames = TickFrames()
    frames.add(event(1))
    frames.add(event(2))
    tick = frames.take()
    first, shed = array_for(tick, 1, False)
    second, _ = array_for(tick, 2, False)
    assert first is second  # built once, shared
    assert payload(first) == [{"type": "chat", "n": 1}, {"type": "chat", "n": 2}]
    assert shed == []
    assert not frames  # collection starts again, empty
    assert array_for(frames.take(), 1, False) == (None, [])


def test_a_members_own_frames_keep_their_place_among_the_events() -> None:
    frames = TickFrames()
    frames.add(event(1))
    frames.add_for(7, event(100, "error"))
    frames.add(event(2))
    frames.add_for(7, event(101, "moderation"))
    tick = frames.take()
    mine, _ = array_for(tick, 7, False)
    assert [(e["type"], e["n"]) for e in payload(mine)] == [
        ("chat", 1),
        ("error", 100),
        ("chat", 2),
        ("moderation", 101),
    ]
    assert [e["n"] for e in payload(array_for(tick, 8, False)[0])] == [1, 2]


def test_a_member_that_joined_during_the_tick_gets_only_what_came_after_its_history() -> None:
    frames = TickFrames()
    frames.add(event(1))  # before the join: already in the joiner's history
    frames.joined(9)
    frames.add_for(9, event(0, "history"))
    frames.add(event(2))
    tick = frames.take()
    joined, _ = array_for(tick, 9, False)
    assert [(e["type"], e["n"]) for e in payload(joined)] == [("history", 0), ("chat", 2)]
    assert [e["n"] for e in payload(array_for(tick, 1, False)[0])] == [1, 2]


def test_a_member_that_joined_after_the_last_event_gets_nothing_more() -> None:
    frames = TickFrames()
    frames.add(event(1))
    frames.joined(9)
    assert array_for(frames.take(), 9, False) == (None, [])


def test_optional_events_are_left_out_for_a_member_that_is_behind_and_counted() -> None:
    frames = TickFrames()
    frames.add(event(1))
    frames.add(event(2, "presence"), optional="presence")
    frames.add(event(3, "gift"), optional="gift")
    tick = frames.take()
    behind, shed = array_for(tick, 1, True)
    assert [e["type"] for e in payload(behind)] == ["chat"]
    assert shed == ["presence", "gift"]
    reading, shed = array_for(tick, 2, False)
    assert [e["type"] for e in payload(reading)] == ["chat", "presence", "gift"]
    assert shed == []
    assert array_for(tick, 3, True)[0] is behind  # shared as well


def test_a_tick_of_only_optional_events_sends_nothing_to_a_member_behind() -> None:
    frames = TickFrames()
    frames.add(event(1, "presence"), optional="presence")
    assert array_for(frames.take(), 1, True) == (None, ["presence"])


def test_a_one_event_member_gets_its_frames_joined_for_one_write() -> None:
    frames = TickFrames()
    frames.add(event(1))
    frames.add_for(7, event(100, "moderation"))
    frames.add(event(2))
    tick = frames.take()
    everyone = tick.for_member(8, batched=False, shed_optional=False)
    again = tick.for_member(9, batched=False, shed_optional=False)
    assert everyone.data is not None and everyone.data is again.data  # joined once
    assert split_frames(everyone.data) == [event(1), event(2)] and everyone.frames == 2
    own = tick.for_member(7, batched=False, shed_optional=False)
    assert own.data == event(1) + event(100, "moderation") + event(2) and own.frames == 3

"""What a room's batched viewers get in one tick, framed once per room (`BATCH_TICK_MS`).

A batched client (`?batch=1`) gets one text frame per tick carrying the tick's events as
a JSON array. Instead of offering every event to every batched member, a room adds the
tick's events here; at the end of the tick it `take`s them, and every batched member gets
the *same* array bytes (`batch_frame`, built once), written straight to its socket like
a one-event frame: no writer task woken and no array joined per viewer per tick.

A member's own frames (its history on joining, an error for its post, a notice to the
author) go into its array at the place they were added, so it sees everything in the
order the room produced it; a member that joined during the tick gets only what came
after its history. Such a member gets an array of its own. Optional events (presence,
gift animations) are left out of the array of a member whose outbox is behind.

The same collection serves one-event members while the room delivers a batch of
messages from its pipeline: at the batch's end each gets the batch's frames one after
the other, as one write (`batched=False`: the frames joined, not an array), so a backlog
delivered at once costs one system call per viewer instead of one per event.

Example:
    frames = TickFrames()
    frames.add(event_frame(chat))
    frames.add(event_frame(presence), optional="presence")
    tick = frames.take()
    mine = tick.for_member(conn_id, batched=True, shed_optional=False)
    mine.data                                  # b'\\x81..[{..},{..}]'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from safestream.chat.wsframes import batch_frame

__all__ = ["ForMember", "Tick", "TickFrames"]


@dataclass(frozen=True)
class ForMember:
    """What one member gets from a tick."""

    data: bytes | None  # None: nothing this time
    frames: int  # WebSocket frames in `data`
    shed: list[str]  # the kinds of the optional events left out


@dataclass
class Tick:
    """One tick's frames for batched members, taken from `TickFrames`."""

    events: list[tuple[bytes, str | None]]  # (frame, optional kind or None), in order
    own: dict[int, list[tuple[int, bytes]]]  # conn_id -> (events before it, frame)
    start: dict[int, int]  # conn_id of a member that joined -> events before it joined
    _shared: dict[tuple[bool, bool], tuple[bytes | None, int]] = field(default_factory=dict)

    def for_member(self, conn_id: int, *, batched: bool, shed_optional: bool) -> ForMember:
        """What one member gets: a batched member one array frame, a one-event member
        its frames one after the other (one write either way)."""
        start = self.start.get(conn_id, 0)
        own = self.own.get(conn_id, [])
        events = self.events[start:] if start else self.events
        shed = [kind for _, kind in events if kind is not None] if shed_optional else []
        if not start and not own:
            key = (shed_optional, batched)
            if key not in self._shared:  # built once for every member like it
                self._shared[key] = _join(self._frames(events, [], shed_optional), batched)
            return ForMember(*self._shared[key], shed)
        return ForMember(*_join(self._frames(events, own, shed_optional, start), batched), shed)

    @staticmethod
    def _frames(
        events: list[tuple[bytes, str | None]],
        own: list[tuple[int, bytes]],
        shed_optional: bool,
        start: int = 0,
    ) -> list[bytes]:
        """The events from `start` with a member's own frames in their places."""
        frames: list[bytes] = []
        mine = iter(own)
        pending = next(mine, None)
        for index, (frame, kind) in enumerate(events, start):
            while pending is not None and pending[0] <= index:
                frames.append(pending[1])
                pending = next(mine, None)
            if not (shed_optional and kind is not None):
                frames.append(frame)
        while pending is not None:
            frames.append(pending[1])
            pending = next(mine, None)
        return frames


def _join(frames: list[bytes], batched: bool) -> tuple[bytes | None, int]:
    if not frames:
        return None, 0
    if batched:
        return batch_frame(frames), 1
    return b"".join(frames), len(frames)


class TickFrames:
    """The frames collected for a room's batched members during the current tick."""

    def __init__(self) -> None:
        self._events: list[tuple[bytes, str | None]] = []
        self._own: dict[int, list[tuple[int, bytes]]] = {}
        self._start: dict[int, int] = {}

    def __bool__(self) -> bool:
        return bool(self._events or self._own)

    def add(self, frame: bytes, *, optional: str | None = None) -> None:
        """An event for every batched member; `optional`: its kind, if it may be shed."""
        self._events.append((frame, optional))

    def add_for(self, conn_id: int, frame: bytes) -> None:
        """A frame for one member only, in its place among the tick's events."""
        self._own.setdefault(conn_id, []).append((len(self._events), frame))

    def joined(self, conn_id: int) -> None:
        """A member joined now: the tick's events so far are not for it (its history
        holds them)."""
        self._start[conn_id] = len(self._events)

    def take(self) -> Tick:
        """The tick's frames; collection starts again, empty."""
        tick = Tick(self._events, self._own, self._start)
        self._events, self._own, self._start = [], {}, {}
        return tick

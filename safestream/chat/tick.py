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

Example:
    frames = TickFrames()
    frames.add(event_frame(chat))
    frames.add(event_frame(presence), optional="presence")
    tick = frames.take()
    frame, shed = tick.frame_for(conn_id, shed_optional=False)  # b'\\x81..[{..},{..}]'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from safestream.chat.wsframes import batch_frame

__all__ = ["Tick", "TickFrames"]


@dataclass
class Tick:
    """One tick's frames for batched members, taken from `TickFrames`."""

    events: list[tuple[bytes, str | None]]  # (frame, optional kind or None), in order
    own: dict[int, list[tuple[int, bytes]]]  # conn_id -> (events before it, frame)
    start: dict[int, int]  # conn_id of a member that joined -> events before it joined
    _shared: dict[bool, bytes | None] = field(default_factory=dict)

    def frame_for(self, conn_id: int, *, shed_optional: bool) -> tuple[bytes | None, list[str]]:
        """The array frame for one member (None: nothing for it this tick) and the kinds
        of the optional events left out of it."""
        start = self.start.get(conn_id, 0)
        own = self.own.get(conn_id, [])
        events = self.events[start:] if start else self.events
        shed = [kind for _, kind in events if kind is not None] if shed_optional else []
        if not start and not own:
            return self._shared_frame(shed_optional), shed
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
        return (batch_frame(frames) if frames else None), shed

    def _shared_frame(self, shed_optional: bool) -> bytes | None:
        """The array every member without frames of its own gets: built once per tick
        (twice when some member is behind and optional events are in it)."""
        if shed_optional not in self._shared:
            frames = [f for f, kind in self.events if not (shed_optional and kind is not None)]
            self._shared[shed_optional] = batch_frame(frames) if frames else None
        return self._shared[shed_optional]


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

"""FanOut: how a room's finished frames reach its members' outboxes (part of the Room).

A frame is framed once (`wsframes`) and the same bytes go to every member:

* a **one-event** member's outbox is offered each frame at once (written straight to
  the socket when nothing is queued, see `chat/outbox.py`); while the room delivers a
  batch of several messages (`together()`), the batch's frames are collected instead and
  each one-event member gets them in one write at the batch's end;
* a **batched** member (`?batch=1`) gets one array frame per `BATCH_TICK_MS` tick, built
  once for the room (`chat/tick.py`); `run_ticker` ends each tick.

A member's own frames (`to_member`: history, refusals, notices to an author) keep their
place among the room's events either way. An optional frame (presence, gift) is shed,
and counted, for a member whose outbox is behind. A member whose outbox closed (a slow
viewer, 4008) is removed through the room's `remove`.

Example:
    fanout = FanOut(members, metrics, tick_secs=0.02, remove=room_remove)
    nursery.start_soon(fanout.run_ticker)
    with fanout.together():
        fanout.to_all(event_frame(chat_frame(message)))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import trio

from safestream.chat.protocol import CloseCode
from safestream.chat.room_messages import Member
from safestream.chat.tick import Tick, TickFrames
from safestream.metrics import Metrics

__all__ = ["FanOut"]


class FanOut:
    """The delivery half of one Room; it owns no members, it reads the room's."""

    def __init__(
        self,
        members: dict[int, Member],
        metrics: Metrics,
        *,
        tick_secs: float,
        remove: Callable[[int], None],
    ) -> None:
        self._members = members
        self._metrics = metrics
        self._tick_secs = tick_secs
        self._remove = remove
        # Batched members' frames of the current tick, framed once per tick.
        self._tick = TickFrames()
        self._tick_started = trio.Event()
        # During `together()`: one-event members' frames of the batch being delivered.
        self._batch: TickFrames | None = None

    def to_all(self, frame: bytes, *, optional: str | None = None) -> None:
        """`frame` for every member. `optional`: its kind (presence, gift), shed and
        counted for members that are behind."""
        batched, shed = False, 0
        for member in list(self._members.values()):
            if member.batched:
                batched = True
            elif self._batch is None and not self._offer(
                member, frame, optional=optional is not None
            ):
                shed += 1
        if shed and optional is not None:
            self._metrics.shed[optional] += shed
        if self._batch is not None:  # one-event members get it at the batch's end
            self._batch.add(frame, optional=optional)
        if batched:
            self._start_tick()
            self._tick.add(frame, optional=optional)

    def to_member(self, member: Member, frame: bytes) -> None:
        """A frame for one member: offered now, or in its place in the tick (batched) or
        in the batch being delivered."""
        if member.batched:
            self._start_tick()
            self._tick.add_for(member.conn_id, frame)
        elif self._batch is not None:
            self._batch.add_for(member.conn_id, frame)
        else:
            self._offer(member, frame)

    def joined(self, member: Member) -> None:
        """A member was added: a batched one gets nothing of the tick so far (its
        history, sent next, holds it)."""
        if member.batched:
            self._tick.joined(member.conn_id)

    @contextmanager
    def together(self) -> Iterator[None]:
        """Deliver what is sent inside as one write per one-event member, at the end:
        the batch's frames joined once (shared bytes unless a member has frames of its
        own), so a backlog delivered at once costs one system call per viewer, not one
        per event. Not for code that awaits inside."""
        self._batch = TickFrames()
        try:
            yield
        finally:
            batch, self._batch = self._batch, None
            if batch:
                self._offer_each(batch.take(), batched=False)

    async def run_ticker(self) -> None:
        """Once frames for batched members wait, send them all after `tick_secs`."""
        while True:
            await self._tick_started.wait()
            await trio.sleep(self._tick_secs)
            # Renewed here only: a flush from elsewhere (a kick, a drain) must not leave
            # this loop waiting on an event nobody sets any more.
            self._tick_started = trio.Event()
            self.flush_tick()

    def flush_tick(self) -> None:
        """Every batched member gets the tick's array now (the same bytes, unless it has
        frames of its own or is behind and sheds optional events)."""
        if self._tick:
            self._offer_each(self._tick.take(), batched=True)

    def _start_tick(self) -> None:
        if not self._tick:
            self._tick_started.set()

    def _offer_each(self, tick: Tick, *, batched: bool) -> None:
        """Offer what `tick` holds for them to the batched or the one-event members."""
        shed = self._metrics.shed
        for member in list(self._members.values()):
            if member.batched != batched:
                continue
            behind = member.outbox.sheds_optional()
            mine = tick.for_member(member.conn_id, batched=batched, shed_optional=behind)
            for kind in mine.shed:
                shed[kind] += 1
            if mine.data is not None:
                self._offer(member, mine.data, frames=mine.frames)

    def _offer(
        self, member: Member, frame: bytes, *, optional: bool = False, frames: int = 1
    ) -> bool:
        """Offer `frame` (`frames` frames) to a member's outbox; a member whose outbox
        closed leaves. False when an optional frame was shed."""
        if member.outbox.offer(frame, optional=optional, frames=frames):
            return True
        request = member.outbox.close_request
        if request is None:
            return not optional
        if request.code == CloseCode.TOO_SLOW:
            self._metrics.slow_consumers += 1
        self._remove(member.conn_id)
        return True

"""A viewer's bounded outbox: rooms offer finished frames, the connection's writer drains.

A frame is the WebSocket frame's bytes (`chat/wsframes.py`): a room frames an event once
and offers the same bytes object to every member. Rooms never wait on a viewer: `offer`
is non-blocking, and what happens when the outbox fills depends on who is behind:

* **The viewer** (its socket's send buffer is full: `stalled()`): past `capacity` frames
  the outbox asks to close with `CloseCode.TOO_SLOW`; the client reconnects with
  `?since=` and recovers what it missed. No frame is dropped without the client knowing.
* **The server** (the socket takes bytes, but the writer has not been scheduled often
  enough, e.g. the CPU is saturated): frames are kept past `capacity`, up to `limit`, so a
  healthy viewer is not cut off for the server's fault; the room sees the lag
  (`pending_secs`) and refuses new posts with `room_busy` until it is caught up.
  Past `limit` the viewer is closed `TOO_SLOW` anyway: memory stays bounded.

Optional frames (presence counts, gift animations) are shed first: once `shed_at` frames
are queued they are dropped (and counted), never the chat.

With `write_now` (the transport's `send_now`), a frame offered to an empty outbox is
written by the offering task itself, straight to the socket, when the socket takes it:
a room's fan-out then costs one system call per viewer and wakes no writer task. Only
what the socket does not take, and what comes after it, waits for the writer.

Example:
    box = Outbox(capacity=2)
    box.offer(event_frame({"type": "pong"}))
    frames = await box.next_batch()   # [b'\x81\x0f{"type":"pong"}']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import trio

from safestream.chat.protocol import CloseCode
from safestream.chat.transport import SendNow, TransportClosed

__all__ = ["WRITE_PENDING", "CloseRequest", "Outbox", "OutboxStatistics"]

# Queued in place of a frame the transport kept part of: the writer's next write finishes
# it (`send_frames` of nothing writes what the transport kept).
WRITE_PENDING = b""
TOO_SLOW_REASON = "too slow: outbox full, reconnect with ?since="


@dataclass(frozen=True)
class CloseRequest:
    """Why the writer must close the socket once the queued frames are flushed."""

    code: int
    reason: str


@dataclass(frozen=True)
class OutboxStatistics:
    depth: int
    capacity: int
    offered: int
    shed: int  # optional frames dropped
    closed: bool


class Outbox:
    """Bounded FIFO of frames with a close request; one writer drains it."""

    def __init__(
        self,
        capacity: int,
        *,
        limit: int | None = None,
        stalled: Callable[[], bool] = lambda: True,
        write_now: Callable[[Sequence[bytes]], SendNow] | None = None,
    ) -> None:
        """
        Args:
            capacity: frames queued before the viewer, if it is the one behind, is closed.
            limit: the hard bound (default `capacity`): frames kept while the server is
                the one behind.
            stalled: whether the viewer's socket refuses more bytes right now (by default
                always, so a full outbox closes as if the viewer were slow).
            write_now: the transport's `send_now`: a frame offered while nothing is
                queued is written at once, by the offering task, with no writer woken
                (see `offer`).
        """
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._queue: deque[tuple[bytes, int]] = deque()  # (bytes to write, frames in them)
        self._depth = 0  # frames queued
        self._capacity = capacity
        self._limit = max(capacity, limit or capacity)
        self._shed_at = max(1, capacity // 2)
        self._stalled = stalled
        self._write_now = write_now
        self._offered = 0
        self._shed = 0
        self._pending_since: float | None = None
        self._close: CloseRequest | None = None
        self._wakeup = trio.Event()

    def offer(self, frame: bytes, *, optional: bool = False, frames: int = 1) -> bool:
        """Queue a frame (or `frames` frames written one after the other) without waiting.

        Args:
            optional: presence, gifts: dropped (and counted in `shed`) once the outbox
                holds `shed_at` frames, instead of adding to a backlog.
            frames: how many frames `frame` holds (a delivered batch goes as one write).

        Returns:
            False when the frame was not queued: the outbox is closing, the frame was
            shed, or the outbox is full; a full outbox also requests the close with
            `TOO_SLOW` (see the module docstring for when it is full).
        """
        if self._close is not None:
            return False
        depth = self._depth
        if optional and self.sheds_optional():
            self._shed += 1
            return False
        after = depth + frames
        if after > self._limit or (after > self._capacity and self._stalled()):
            self.close(CloseCode.TOO_SLOW, TOO_SLOW_REASON)
            return False
        if not depth and self._write_now is not None:
            try:
                sent = self._write_now((frame,))
            except TransportClosed:
                self.close(CloseCode.NORMAL, "connection closed")
                return False
            if sent is SendNow.WRITTEN:
                self._offered += frames
                return True
            if sent is SendNow.KEPT:
                # The socket did not take it all: the transport keeps the rest, and this
                # empty frame tells the writer to finish it (later frames queue behind).
                frame = WRITE_PENDING
                if frames > self._capacity and self._stalled():
                    # More than an outbox of frames to a socket that is full now: as if
                    # they had been offered one by one. The writer flushes, then closes.
                    self.close(CloseCode.TOO_SLOW, TOO_SLOW_REASON)
        if not depth:
            self._pending_since = trio.current_time()
        self._queue.append((frame, frames))
        self._depth += frames
        self._offered += frames
        self._wakeup.set()
        return True

    def sheds_optional(self) -> bool:
        """Whether optional frames are shed now: `shed_at` frames are queued."""
        return self._depth >= self._shed_at

    def pending_secs(self, now: float) -> float:
        """How long this outbox has held unsent frames without emptying, when the server
        is the one behind; 0.0 when it is empty or the viewer's socket is full (a slow
        viewer is that viewer's problem, not the room's)."""
        if self._pending_since is None or self._stalled():
            return 0.0
        return now - self._pending_since

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to close after flushing what is queued; the first reason wins."""
        if self._close is None:
            self._close = CloseRequest(code, reason[:120])
            self._wakeup.set()

    @property
    def close_request(self) -> CloseRequest | None:
        return self._close

    async def next_batch(self, limit: int = 64) -> list[bytes]:
        """Wait for frames and take up to `limit` offers of them.

        Returns:
            The frames in order; an empty list once a close is requested and nothing
            is left to flush. Cancelled while waiting, it takes nothing.
        """
        while not self._queue and self._close is None:
            await self._wakeup.wait()
            self._wakeup = trio.Event()
        batch = []
        for _ in range(min(limit, len(self._queue))):
            data, frames = self._queue.popleft()
            self._depth -= frames
            batch.append(data)
        if not self._queue:
            self._pending_since = None
        return batch

    def statistics(self) -> OutboxStatistics:
        return OutboxStatistics(
            depth=self._depth,
            capacity=self._capacity,
            offered=self._offered,
            shed=self._shed,
            closed=self._close is not None,
        )

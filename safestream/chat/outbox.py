"""A viewer's bounded outbox: rooms offer finished frames, the connection's writer drains.

A frame is the WebSocket frame's bytes (`chat/wsframes.py`): a room frames an event once
and offers the same bytes object to every member. Rooms never wait on a viewer: `offer`
is non-blocking and a full outbox closes the viewer with `CloseCode.TOO_SLOW` instead of
growing memory or dropping frames silently (the client reconnects with `?since=` and
recovers what it missed).

Example:
    box = Outbox(capacity=2)
    box.offer(event_frame({"type": "pong"}))
    frames = await box.next_batch()   # [b'\x81\x0f{"type":"pong"}']
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import trio

from safestream.chat.protocol import CloseCode

__all__ = ["CloseRequest", "Outbox", "OutboxStatistics"]


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
    closed: bool


class Outbox:
    """Bounded FIFO of frames with a close request; one writer drains it."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._frames: deque[bytes] = deque()
        self._capacity = capacity
        self._offered = 0
        self._close: CloseRequest | None = None
        self._wakeup = trio.Event()
        self._closing = trio.Event()

    def offer(self, frame: bytes) -> bool:
        """Queue a frame without waiting.

        Returns:
            False when the outbox is closing or full; a full outbox also requests the
            close with `TOO_SLOW`, so no frame is ever lost without the client knowing.
        """
        if self._close is not None:
            return False
        if len(self._frames) >= self._capacity:
            self.close(CloseCode.TOO_SLOW, "too slow: outbox full, reconnect with ?since=")
            return False
        self._frames.append(frame)
        self._offered += 1
        self._wakeup.set()
        return True

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to close after flushing what is queued; the first reason wins."""
        if self._close is None:
            self._close = CloseRequest(code, reason[:120])
            self._wakeup.set()
            self._closing.set()

    @property
    def close_request(self) -> CloseRequest | None:
        return self._close

    async def next_batch(self, limit: int = 64, *, linger: float = 0.0) -> list[bytes]:
        """Wait for frames and take up to `limit` of them.

        Args:
            limit: the most frames taken at once.
            linger: once a frame is there, wait this many seconds more so that the frames
                of one tick go out together (batched delivery); a close request ends the
                wait at once.

        Returns:
            The frames in order; an empty list once a close is requested and nothing
            is left to flush. Cancelled while waiting, it takes nothing.
        """
        while not self._frames and self._close is None:
            await self._wakeup.wait()
            self._wakeup = trio.Event()
        if linger > 0 and self._close is None:
            with trio.move_on_after(linger):
                await self._closing.wait()
        batch = [self._frames.popleft() for _ in range(min(limit, len(self._frames)))]
        return batch

    def statistics(self) -> OutboxStatistics:
        return OutboxStatistics(
            depth=len(self._frames),
            capacity=self._capacity,
            offered=self._offered,
            closed=self._close is not None,
        )

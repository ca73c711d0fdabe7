"""What the chat core needs from a WebSocket: the one small interface to the serving layer.

Connections see only `WebSocketTransport` (accept, receive, send finished frames,
close); the web layer provides implementations (`safestream.web.wsproto_transport`, the
ASGI fallback in `safestream.web.transport`), so the delivery path can be changed
without touching rooms or connections. Frames are bytes built by `chat/wsframes`.

Example:
    async def echo(transport: WebSocketTransport) -> None:
        try:
            while True:
                await transport.send_frames([text_frame(await transport.receive())])
        except TransportClosed as closed:
            print("peer left with", closed.code)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol

__all__ = ["SendNow", "TransportClosed", "WebSocketTransport"]


class SendNow(enum.Enum):
    """What `WebSocketTransport.send_now` did with the frames."""

    WRITTEN = "written"
    KEPT = "kept"
    BUSY = "busy"


class TransportClosed(Exception):
    """The peer went away (or the socket was closed); `code` is its close code."""

    def __init__(self, code: int = 1006) -> None:
        super().__init__(f"websocket closed ({code})")
        self.code = code


class WebSocketTransport(Protocol):
    """What the chat core needs from a WebSocket."""

    batched: bool  # the client asked for one JSON array of events per tick

    @property
    def stalled_since(self) -> float | None:
        """Since when (Trio clock) the peer has not taken what we write: the socket's
        send buffer is full. None while writes go through. A server too busy to write
        is not a stalled peer, so this is how a slow client is told from a slow server."""
        ...

    @property
    def remote_addr(self) -> str: ...

    async def accept(self, subprotocol: str | None = None) -> None: ...

    async def receive(self) -> str | bytes:
        """The next message's payload. Raises TransportClosed when the peer is gone."""
        ...

    def send_now(self, frames: Sequence[bytes]) -> SendNow:
        """Write finished frames without waiting, as far as the socket takes them.

        Returns WRITTEN (all of it), KEPT (the socket took part or none: the rest is
        kept and goes out first with the next `send_frames`) or BUSY (a write is under
        way: nothing was taken, send them later). The common case of a fan-out write
        costs no scheduling round and no timeout scope this way. Raises TransportClosed
        when the peer is gone.
        """
        ...

    async def send_frames(self, frames: Sequence[bytes]) -> None:
        """Write finished frames (`wsframes`) in order, in one write.

        Raises TransportClosed when the peer is gone. Cancelled part-way, the frames not
        yet written stay queued ahead of anything sent later, so the stream never
        carries half a frame followed by another frame.
        """
        ...

    async def close(self, code: int, reason: str) -> None: ...

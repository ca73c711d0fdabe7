"""`WebSocketTransport` on a socket the node owns: wsproto reads, pre-framed bytes write.

The listener (`safestream.web.listener`) hands over a TCP stream whose first request is a
`/ws/...` upgrade, with that request's head already read. This transport finishes the
handshake with wsproto (no extension is negotiated: a shared pre-framed frame must not
be compressed per connection), lets wsproto parse what the client sends (masking,
fragments, ping/pong, close), and writes the server's frames itself: each call of
`send_frames` is one write of the joined bytes, straight to the socket.

Writes go through the socket's `send` so that a write cancelled part-way (a slow
consumer's timeout) knows exactly what was written; the rest is kept and goes out ahead
of the next write (or of the close frame), so the client never sees a cut frame. A short
write means the socket's send buffer is full: `stalled_since` says since when, which is
how the connection tells a client that stopped reading from a server that is busy.

Example:
    transport = WsprotoTransport.from_head(stream, head, rest, max_message_size=8192)
    async with transport:                      # lingers for the close reply, then closes
        await transport.accept("safestream")
        await transport.send_frames([event_frame({"type": "pong"})])
        await transport.close(1000, "bye")
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from urllib.parse import unquote

import trio
from hypercorn.utils import parse_socket_addr
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import RemoteProtocolError

from safestream.chat.transport import SendNow, TransportClosed
from safestream.chat.wsframes import close_frame
from safestream.web.transport import parse_query

__all__ = ["HandshakeRefused", "WsprotoTransport"]

MAX_RECV = 65536
CLOSE_LINGER_SECS = 2.0  # after our close frame, wait this long for the client's reply
TOO_BIG = 1009


class HandshakeRefused(Exception):
    """The upgrade request is not a valid WebSocket handshake; `response` answers it."""

    def __init__(self, detail: str, response: bytes) -> None:
        super().__init__(detail)
        self.response = response


class WsprotoTransport:
    """One chat WebSocket on a `trio.SocketStream`; see the module docstring."""

    def __init__(
        self,
        stream: trio.SocketStream,
        ws: WSConnection,
        request: Request,
        rest: bytes,
        *,
        max_message_size: int,
    ) -> None:
        self.batched = False
        self._stream = stream
        self._fd = stream.socket.fileno()
        self._handshake: WSConnection | None = ws  # dropped once accepted (with its h11 state)
        self._ws = Connection(ConnectionType.SERVER)  # replaced by the accepted connection
        self._subprotocols = list(request.subprotocols)
        self._pending_in = rest  # bytes that came after the request head
        self._max_message_size = max_message_size
        self._send_lock = trio.Lock()
        self._unsent = b""
        self._stalled_since: float | None = None
        self._accepted = False
        self._close_sent = False
        self._close_received = False
        self._broken = False
        self._parts: list[str | bytes] = []
        self._part_size = 0
        path, _, query = request.target.partition("?")
        self._path = unquote(path)
        self._query = parse_query(query)
        self._headers = {
            name.decode("latin-1"): v.decode("latin-1") for name, v in request.extra_headers
        }
        self._headers["host"] = request.host
        try:
            address = parse_socket_addr(stream.socket.family, stream.socket.getpeername())
        except OSError:  # the client is already gone (reset)
            address = None
        self._remote_addr = str(address[0]) if address else "unknown"

    @classmethod
    def from_head(
        cls, stream: trio.SocketStream, head: bytes, rest: bytes, *, max_message_size: int
    ) -> WsprotoTransport:
        """Parse an upgrade request's head.

        Raises:
            HandshakeRefused: not a valid WebSocket upgrade; send its `response` and close.
        """
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.receive_data(head)
            request = next((e for e in ws.events() if isinstance(e, Request)), None)
        except (RemoteProtocolError, ValueError) as exc:
            hint = getattr(exc, "event_hint", None)
            if not isinstance(hint, RejectConnection):
                hint = RejectConnection()
            raise HandshakeRefused(str(exc), ws.send(hint)) from exc
        if request is None:
            raise HandshakeRefused("incomplete request", ws.send(RejectConnection()))
        return cls(stream, ws, request, rest, max_message_size=max_message_size)

    @property
    def path(self) -> str:
        return self._path

    @property
    def query(self) -> Mapping[str, str]:
        return self._query

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def subprotocols(self) -> list[str]:
        return list(self._subprotocols)

    @property
    def remote_addr(self) -> str:
        return self._remote_addr

    @property
    def stalled_since(self) -> float | None:
        return self._stalled_since

    async def accept(self, subprotocol: str | None = None) -> None:
        """Answer 101 (with `subprotocol`, never with an extension)."""
        if self._handshake is None:
            raise RuntimeError("already accepted")
        data = self._handshake.send(AcceptConnection(subprotocol=subprotocol, extensions=[]))
        connection = self._handshake.connection
        assert connection is not None  # wsproto opens it on accepting
        self._ws, self._handshake = connection, None
        self._accepted = True
        await self._write(data)
        if self._pending_in:
            self._ws.receive_data(self._pending_in)
            self._pending_in = b""

    async def receive(self) -> str | bytes:
        """The next whole message (text as str, binary as bytes).

        Pings are answered; a message larger than `max_message_size` (characters of
        text, bytes of binary) closes the socket with 1009 as soon as it is seen, without
        buffering the rest.

        Raises:
            TransportClosed: the client closed (its code), the stream broke (1006), or a
                message was too big (1009).
        """
        while True:
            for event in self._ws.events():
                message = await self._on_event(event)
                if message is not None:
                    return message
            if self._close_received or self._broken:
                raise TransportClosed(1006)
            data = await self._read()
            if not data:
                self._broken = True
                raise TransportClosed(1006)
            self._ws.receive_data(data)

    async def _on_event(self, event: object) -> str | bytes | None:
        match event:
            case TextMessage() | BytesMessage():
                data = event.data if isinstance(event.data, str) else bytes(event.data)
                self._parts.append(data)
                self._part_size += len(data)
                if self._part_size > self._max_message_size:
                    self._parts.clear()
                    await self.close(TOO_BIG, "frame too big")
                    raise TransportClosed(TOO_BIG)
                if not event.message_finished:
                    return None
                parts, self._parts, self._part_size = self._parts, [], 0
                if isinstance(data, str):
                    return "".join(part for part in parts if isinstance(part, str))
                return b"".join(part for part in parts if isinstance(part, bytes))
            case Ping():
                if self._ws.state is ConnectionState.OPEN and not self._close_sent:
                    await self._write(self._ws.send(event.response()))
                return None
            case CloseConnection(code=code, reason=reason):
                self._close_received = True
                if not self._close_sent:
                    # Echo the code (wsproto reports 1005 for a close without one).
                    await self._send_close(1000 if code in (1005, 1006) else code, reason or "")
                raise TransportClosed(code)
        return None

    def send_now(self, frames: Sequence[bytes]) -> SendNow:
        if self._close_sent or self._broken:
            raise TransportClosed(1000)
        if self._send_lock.locked():
            return SendNow.BUSY  # `_write` owns `_unsent` until it is done
        data = b"".join(frames)
        if self._unsent:
            self._unsent += data  # behind an unfinished write: send_frames finishes both
            return SendNow.KEPT
        try:
            # The raw non-blocking write: Trio's socket `send` would add a scheduling
            # round and a context manager to each of the fan-out's writes.
            sent = os.write(self._fd, data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._broken = True
            raise TransportClosed(1006) from exc
        if sent == len(data):
            return SendNow.WRITTEN
        self._unsent = data[sent:]
        if self._stalled_since is None:
            self._stalled_since = trio.current_time()  # the send buffer is full
        return SendNow.KEPT

    async def send_frames(self, frames: Sequence[bytes]) -> None:
        if self._close_sent or self._broken:
            raise TransportClosed(1000)
        await self._write(b"".join(frames))

    async def close(self, code: int, reason: str) -> None:
        """Send a close frame (after anything unsent); the reply is awaited on exit."""
        if self._close_sent or self._broken or not self._accepted:
            return
        try:
            await self._send_close(code, reason)
        except TransportClosed:
            pass

    async def _send_close(self, code: int, reason: str) -> None:
        self._close_sent = True
        await self._write(close_frame(code, reason))

    async def _write(self, data: bytes) -> None:
        # The lock only matters when the reader answers a ping while the writer writes;
        # uncontended, take it without the extra scheduling round of `acquire()` (the
        # socket send below is this call's checkpoint).
        try:
            self._send_lock.acquire_nowait()
        except trio.WouldBlock:
            await self._send_lock.acquire()
        try:
            if self._broken:
                raise TransportClosed(1006)
            view = memoryview(self._unsent + data if self._unsent else data)
            try:
                while view:
                    sent = await self._stream.socket.send(view)
                    view = view[sent:]
                    if view and self._stalled_since is None:
                        # A short write: the send buffer is full, the peer is behind.
                        self._stalled_since = trio.current_time()
                self._stalled_since = None
            except OSError as exc:
                self._broken = True
                raise TransportClosed(1006) from exc
            finally:
                self._unsent = bytes(view)
        finally:
            self._send_lock.release()

    async def _read(self) -> bytes:
        try:
            return await self._stream.receive_some(MAX_RECV)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return b""

    async def __aenter__(self) -> WsprotoTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End the connection: after our close frame, read (and drop) until the client's
        close reply or EOF, for at most CLOSE_LINGER_SECS, then close the TCP stream.

        Closing with unread input would make the kernel reset the connection, and the
        client might lose our close frame. Cancellation-safe: shielded and bounded.
        """
        with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_LINGER_SECS):
            if self._accepted and self._close_sent and not (self._close_received or self._broken):
                while not self._close_received:
                    for event in self._ws.events():
                        if isinstance(event, CloseConnection):
                            self._close_received = True
                    if self._close_received:
                        break
                    data = await self._read()
                    if not data:
                        break
                    self._ws.receive_data(data)
        self._broken = True  # no write after this: the descriptor may be reused
        with trio.CancelScope(shield=True):
            await self._stream.aclose()

"""A cheap WebSocket client for load tests: a non-blocking socket driven by Trio.

`RawWebSocket` is the thin I/O side of `wsload.py`: it connects, writes the upgrade,
checks the answer, then `receive()` hands back whole messages as `(opcode, payload)`
bytes. It reads from a plain non-blocking socket and parks in
`trio.lowlevel.wait_readable` only when the kernel has nothing, so a busy viewer costs a
`recv` per batch of frames rather than a task switch per frame. Pings are answered and a
close frame is answered and raised as `Closed`; the client never decodes JSON.

A process with hundreds of viewers can instead poll their sockets itself (one `epoll`
for all, see `load/fanout_viewers.py`) and call `read_now()` on each ready one: what the
socket holds, parsed, with no task parked or woken per socket per frame.

Cancellation: `receive()`, `send_text()` and `connect()` are Trio checkpoints when they
wait; `aclose()` may be called at any time (in a cancelled `finally` too) and never
raises. `receive()` yields to the scheduler at least every
`YIELD_EVERY` reads even when data keeps coming, so one flooded socket cannot starve
the others.

Example:
    ws = await RawWebSocket.connect("127.0.0.1", 8000, "/ws/ann?room=main&token=...")
    try:
        for opcode, payload in await ws.receive():
            ...
        await ws.send_text(chat_payload("hello"))
    except Closed as closed:
        print(closed.code)
    finally:
        await ws.aclose()
"""

from __future__ import annotations

import socket

import trio
from wsload import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameParser,
    HandshakeFailed,
    check_handshake_response,
    client_frame,
    close_payload,
    handshake_request,
    new_key,
    parse_close,
)

__all__ = ["Closed", "RawWebSocket"]

RECV_BYTES = 256 * 1024
YIELD_EVERY = 8
ABNORMAL = 1006  # closed without a close frame (RFC 6455 7.1.5)


class Closed(Exception):
    """The connection ended: `code` from the server's close frame, or 1006."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason


class RawWebSocket:
    def __init__(self, sock: socket.socket, parser: FrameParser) -> None:
        self._sock = sock
        self._parser = parser
        self._pending: list[tuple[int, bytes]] = []
        self._reads = 0
        self._closed = False
        self._close_frame_due = False
        self._send_lock = trio.Lock()

    @classmethod
    async def connect(cls, host: str, port: int, path: str, *, origin: bool = True) -> RawWebSocket:
        """Open the TCP connection and complete the upgrade.

        Raises:
            HandshakeFailed: the server did not accept the upgrade.
            OSError: the connection failed.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ws = cls(sock, FrameParser())
        try:
            try:
                sock.connect((host, port))
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    raise OSError(error, f"connect to {host}:{port} failed") from None
            key = new_key()
            await ws._send_raw(handshake_request(host, port, path, key, origin=origin))
            data = b""
            while (rest := check_handshake_response(data, key)) is None:
                chunk = await ws._recv()
                if not chunk:
                    raise HandshakeFailed(0, "connection closed during the handshake")
                data += chunk
            ws._close_frame_due = True
            ws._pending = ws._parser.feed(rest)
        except BaseException:
            await ws.aclose()
            raise
        return ws

    async def _recv(self) -> bytes:
        while True:
            try:
                data = self._sock.recv(RECV_BYTES)
            except BlockingIOError:
                self._reads = 0
                await trio.lowlevel.wait_readable(self._sock)
                continue
            except OSError:
                return b""
            self._reads += 1
            if self._reads >= YIELD_EVERY:
                self._reads = 0
                await trio.lowlevel.checkpoint()
            return data

    async def _send_raw(self, data: bytes) -> None:
        view = memoryview(data)
        async with self._send_lock:
            while view:
                try:
                    sent = self._sock.send(view)
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(self._sock)
                    continue
                view = view[sent:]

    async def receive(self) -> list[tuple[int, bytes]]:
        """The next data messages (at least one), as `(opcode, payload)`.

        Raises:
            Closed: the server closed (its close frame is answered) or the stream ended.
        """
        while True:
            messages, self._pending = self._pending, []
            data, pings, close = _sort(messages)
            for payload in pings:
                await self._send_raw(client_frame(payload, OP_PONG))
            if close is not None:
                await self._close_reply(close[:2])
                raise Closed(*parse_close(close))
            if data:
                return data
            chunk = await self._recv()
            if not chunk:
                raise Closed(ABNORMAL, "stream ended")
            self._pending = self._parser.feed(chunk)

    def fileno(self) -> int:
        return self._sock.fileno()

    def read_now(self) -> tuple[list[tuple[int, bytes]], Closed | None]:
        """Everything the socket holds now, without waiting: the data messages, and
        `Closed` if the server closed or the stream ended after them. Pings and the close
        are answered with a non-blocking send (a reply the socket cannot take is
        dropped: the server closes on its own timeout then)."""
        messages, self._pending = self._pending, []
        ended = False
        while True:
            try:
                chunk = self._sock.recv(RECV_BYTES)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                ended = True
                break
            messages += self._parser.feed(chunk)
            if len(chunk) < RECV_BYTES:
                break  # drained: spare the recv that would only say so
        data, pings, close = _sort(messages)
        for payload in pings:
            self._send_nowait(client_frame(payload, OP_PONG))
        if close is not None:
            self._close_frame_due = False
            self._send_nowait(client_frame(close[:2], OP_CLOSE))
            return data, Closed(*parse_close(close))
        return data, Closed(ABNORMAL, "stream ended") if ended else None

    def _send_nowait(self, frame: bytes) -> None:
        try:
            self._sock.send(frame)
        except OSError:
            pass

    async def _close_reply(self, payload: bytes) -> None:
        self._close_frame_due = False  # one close frame per connection: aclose sends no other
        try:
            await self._send_raw(client_frame(payload, OP_CLOSE))
        except OSError:
            pass

    async def send_text(self, payload: bytes) -> None:
        """Send one masked text frame.

        Raises:
            OSError: the connection is gone.
        """
        await self._send_raw(client_frame(payload))

    async def aclose(self, code: int = 1000) -> None:
        """Send a close frame if the socket was upgraded and has room for it (without
        waiting for the answer), then close. Never raises, even when cancelled."""
        if self._closed:
            return
        self._closed = True
        if self._close_frame_due:
            try:
                self._sock.send(client_frame(close_payload(code), OP_CLOSE))
            except OSError:
                pass
        trio.lowlevel.notify_closing(self._sock)
        self._sock.close()
        await trio.lowlevel.cancel_shielded_checkpoint()


def _sort(
    messages: list[tuple[int, bytes]],
) -> tuple[list[tuple[int, bytes]], list[bytes], bytes | None]:
    """The data messages, the payloads of the pings before the close, and the close
    frame's payload (None: no close); nothing after a close counts."""
    data, pings = [], []
    for opcode, payload in messages:
        if opcode < OP_CLOSE:
            data.append((opcode, payload))
        elif opcode == OP_PING:
            pings.append(payload)
        elif opcode == OP_CLOSE:
            return data, pings, payload
    return data, pings, None

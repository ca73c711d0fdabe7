"""The serving layer's side of the chat socket: the handshake view and the ASGI fallback.

Connections and rooms only see `safestream.chat.transport.WebSocketTransport`: accept,
receive, send finished frames, close. Frames are bytes built once by `chat/wsframes`
(a room frames an event once for all its viewers); a transport writes what it is
given, in one write. `WebSocketUpgrade` adds what the handshake reads (path, query,
headers, subprotocols).

Two implementations:

* `safestream.web.wsproto_transport.WsprotoTransport` (the normal path): the node's own
  listener takes `/ws/...` upgrades off the socket and speaks WebSocket with wsproto,
  writing the pre-framed bytes straight to the socket.
* `AsgiTransport` (the fallback): an upgrade that reaches Hypercorn instead, i.e. a later
  request on a kept-alive HTTP connection (reverse proxies that reuse upstream
  connections do this), is served over the ASGI websocket scope. It unframes each frame
  and sends its text through Hypercorn, at Hypercorn's per-frame cost.

Example:
    transport = AsgiTransport(scope, receive, send)
    if await transport.wait_connect():
        await transport.accept()
        await transport.send_frames([event_frame({"type": "pong"})])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qs

import trio

from safestream.chat.transport import SendNow, TransportClosed, WebSocketTransport
from safestream.chat.wsframes import frame_payload

__all__ = ["AsgiTransport", "WebSocketUpgrade", "parse_query"]

AsgiMessage = dict[str, Any]
Receive = Callable[[], Awaitable[AsgiMessage]]
Send = Callable[[AsgiMessage], Awaitable[None]]


class WebSocketUpgrade(WebSocketTransport, Protocol):
    """A transport before the handshake is decided: what the client asked for."""

    @property
    def path(self) -> str:
        """The request path, percent-decoded (`/ws/ann`)."""
        ...

    @property
    def query(self) -> Mapping[str, str]: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers, names lower-cased (last value wins)."""
        ...

    @property
    def subprotocols(self) -> list[str]: ...


def parse_query(raw: str) -> dict[str, str]:
    """A query string as a dict; a repeated key keeps its last value."""
    return {key: values[-1] for key, values in parse_qs(raw).items()}


class AsgiTransport:
    """`WebSocketUpgrade` over an ASGI websocket connection (the fallback path)."""

    def __init__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._closed = False
        self._sending_since: float | None = None
        self._pending: deque[bytes] = deque()
        self.batched = False
        self.query: dict[str, str] = parse_query(scope.get("query_string", b"").decode("latin-1"))
        self.headers: dict[str, str] = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", [])
        }

    @property
    def path(self) -> str:
        return str(self._scope.get("path", ""))

    @property
    def remote_addr(self) -> str:
        client = self._scope.get("client")
        return str(client[0]) if client else "unknown"

    @property
    def subprotocols(self) -> list[str]:
        return list(self._scope.get("subprotocols", []))

    async def wait_connect(self) -> bool:
        """Wait for the ASGI connect event; False if the client left before it."""
        message = await self._receive()
        return bool(message["type"] == "websocket.connect")

    async def accept(self, subprotocol: str | None = None) -> None:
        message: AsgiMessage = {"type": "websocket.accept"}
        if subprotocol:
            message["subprotocol"] = subprotocol
        await self._send(message)

    async def receive(self) -> str | bytes:
        if self._closed:
            raise TransportClosed(1000)
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self._closed = True
            raise TransportClosed(int(message.get("code", 1005)))
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    @property
    def stalled_since(self) -> float | None:
        # ASGI does not say whether the socket is full: a send that has not finished
        # counts as stalled since it began (the fallback cannot tell the two apart).
        return self._sending_since

    def send_now(self, frames: Sequence[bytes]) -> SendNow:
        # An ASGI send is always awaited.
        if self._closed:
            raise TransportClosed(1000)
        return SendNow.BUSY

    async def send_frames(self, frames: Sequence[bytes]) -> None:
        # Hypercorn shields its socket writes, so a cancelled send never splits a frame;
        # a frame leaves `_pending` once sent, so a cancelled call loses nothing.
        self._pending.extend(frames)
        if self._sending_since is None:
            self._sending_since = trio.current_time()
        while self._pending:
            if self._closed:
                raise TransportClosed(1000)
            text = frame_payload(self._pending[0]).decode("utf-8")
            try:
                await self._send({"type": "websocket.send", "text": text})
            except OSError as exc:
                self._closed = True
                raise TransportClosed(1006) from exc
            self._pending.popleft()
        self._sending_since = None

    async def close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except OSError:
            pass

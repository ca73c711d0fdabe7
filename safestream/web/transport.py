"""`AsgiTransport`: the chat core's `WebSocketTransport` on an ASGI websocket scope.

Connections and rooms only see `safestream.chat.transport.WebSocketTransport`: accept,
receive, send frames, close. `AsgiTransport` implements it on a raw ASGI websocket scope
(Hypercorn's Trio worker), bypassing Quart's per-frame wrappers; a faster layer can
replace it without touching rooms or connections.

Example:
    transport = AsgiTransport(scope, receive, send)
    if await transport.wait_connect():
        await transport.accept()
        await transport.send_many(['{"type":"pong"}'])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from safestream.chat.transport import TransportClosed

__all__ = ["AsgiTransport"]

AsgiMessage = dict[str, Any]
Receive = Callable[[], Awaitable[AsgiMessage]]
Send = Callable[[AsgiMessage], Awaitable[None]]


class AsgiTransport:
    """`WebSocketTransport` over an ASGI websocket connection."""

    def __init__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._closed = False
        self.query: dict[str, str] = {
            key: values[-1]
            for key, values in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()
        }
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

    async def send_many(self, frames: Sequence[str]) -> None:
        for frame in frames:
            if self._closed:
                raise TransportClosed(1000)
            try:
                await self._send({"type": "websocket.send", "text": frame})
            except OSError as exc:
                self._closed = True
                raise TransportClosed(1006) from exc

    async def close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except OSError:
            pass

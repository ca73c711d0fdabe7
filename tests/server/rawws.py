"""A bare WebSocket client (wsproto on a Trio TCP stream) that sees what a browser sees.

trio-websocket hides the handshake answer and decodes payloads; these tests need the
answered subprotocol and extensions, each payload's exact bytes, the close code and
reason, and an upgrade sent as a *second* request on a kept-alive HTTP connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import h11
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


async def http_exchange(
    stream: trio.SocketStream, request: h11.Request, body: bytes = b""
) -> tuple[int, bytes]:
    """One HTTP/1.1 request and its whole response on `stream`, which stays open."""
    conn = h11.Connection(h11.CLIENT)
    data = conn.send(request) or b""
    if body:
        data += conn.send(h11.Data(data=body)) or b""
    data += conn.send(h11.EndOfMessage()) or b""
    await stream.send_all(data)
    status, content = 0, b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            content += event.data
        elif isinstance(event, h11.EndOfMessage):
            return status, content


class RawWebSocket:
    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.accepted: AcceptConnection | None = None
        self.rejected: RejectConnection | None = None
        self._text: list[str] = []
        self._events: list[object] = []  # events that came with the handshake answer

    async def _pump(self) -> None:
        data = await self.stream.receive_some(65536)
        self.ws.receive_data(data or None)

    async def handshake(
        self, host: str, target: str, subprotocols: Sequence[str], extensions: Sequence[str]
    ) -> None:
        headers = [(b"Origin", f"http://{host}".encode())]
        if extensions:
            headers.append((b"Sec-WebSocket-Extensions", ", ".join(extensions).encode()))
        request = Request(
            host=host, target=target, subprotocols=list(subprotocols), extra_headers=headers
        )
        await self.stream.send_all(self.ws.send(request))
        while self.accepted is None and self.rejected is None:
            await self._pump()
            for event in self.ws.events():
                if isinstance(event, AcceptConnection):
                    self.accepted = event
                elif isinstance(event, RejectConnection):
                    self.rejected = event
                else:
                    self._events.append(event)

    async def send_text(self, text: str) -> None:
        await self.stream.send_all(self.ws.send(TextMessage(data=text)))

    async def next_payload(self, wait: float = 10.0) -> bytes:
        """The next text message's exact bytes. Raises Closed on a close frame."""
        with trio.fail_after(wait):
            while True:
                self._events.extend(self.ws.events())
                while self._events:
                    event = self._events.pop(0)
                    if isinstance(event, TextMessage):
                        self._text.append(event.data)
                        if event.message_finished:
                            text, self._text = "".join(self._text), []
                            return text.encode("utf-8")
                    elif isinstance(event, Ping):
                        await self.stream.send_all(self.ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        raise Closed(event.code, event.reason or "")
                await self._pump()


@asynccontextmanager
async def raw_websocket(
    url: str,
    target: str,
    *,
    subprotocols: Sequence[str] = (),
    extensions: Sequence[str] = (),
    http_first: bool = False,
) -> AsyncIterator[RawWebSocket]:
    """Connect to `url` (http://host:port) and upgrade at `target`.

    With `http_first`, a `GET /health` goes first on the same kept-alive connection.
    """
    hostport = url.removeprefix("http://")
    host, port = hostport.split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        if http_first:
            request = h11.Request(method="GET", target="/health", headers=[("Host", hostport)])
            status, _ = await http_exchange(stream, request)
            assert status == 200
        client = RawWebSocket(stream, WSConnection(ConnectionType.CLIENT))
        await client.handshake(hostport, target, subprotocols, extensions)
        yield client

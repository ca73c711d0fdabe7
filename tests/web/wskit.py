"""A WsprotoTransport and a wsproto client on the two ends of a Unix socket pair.

No TCP and no server: the test owns both ends, so small kernel buffers make "a client
that stops reading" immediate and Trio's mock clock stays deterministic.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import AcceptConnection, CloseConnection, Ping, Pong, Request, TextMessage

from safestream.web.wsproto_transport import WsprotoTransport

SMALL_BUFFER = 4096


@dataclass
class Client:
    """The client end: sends frames with wsproto, collects every event it reads."""

    stream: trio.SocketStream
    ws: WSConnection
    accepted: AcceptConnection | None = None
    texts: list[str] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    close: CloseConnection | None = None
    _partial: list[str] = field(default_factory=list)

    async def send(self, event: TextMessage | Ping | CloseConnection) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def read_once(self) -> bool:
        """Read what is there and handle it; False at EOF."""
        data = await self.stream.receive_some(65536)
        if not data:
            return False
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.accepted = event
            elif isinstance(event, TextMessage):
                self._partial.append(event.data)
                if event.message_finished:
                    self.texts.append("".join(self._partial))
                    self._partial.clear()
            elif isinstance(event, Pong):
                self.pongs.append(bytes(event.payload))
            elif isinstance(event, CloseConnection):
                self.close = event
                if self.ws.state is not ConnectionState.REMOTE_CLOSING:
                    continue  # the answer to our own close
                try:
                    await self.stream.send_all(self.ws.send(event.response()))
                except trio.BrokenResourceError:
                    pass  # the server closed first
        return True

    async def read_until_closed(self) -> None:
        while self.close is None and await self.read_once():
            pass


@asynccontextmanager
async def socket_pair(
    target: str = "/ws/ann?room=main",
    *,
    subprotocols: Sequence[str] = (),
    extensions: Sequence[str] = (),
    max_message_size: int = 8192,
    small_buffers: bool = False,
) -> AsyncIterator[tuple[WsprotoTransport, Client]]:
    """A not-yet-accepted transport and its client, the upgrade request already sent."""
    left, right = socket.socketpair()
    if small_buffers:
        for sock in (left, right):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    server_stream = trio.SocketStream(trio.socket.from_stdlib_socket(left))
    client = Client(
        trio.SocketStream(trio.socket.from_stdlib_socket(right)),
        WSConnection(ConnectionType.CLIENT),
    )
    headers = []
    if extensions:
        headers.append((b"Sec-WebSocket-Extensions", ", ".join(extensions).encode()))
    head = client.ws.send(
        Request(host="test", target=target, subprotocols=list(subprotocols), extra_headers=headers)
    )
    transport = WsprotoTransport.from_head(
        server_stream, head, b"", max_message_size=max_message_size
    )
    async with client.stream, transport:
        yield transport, client

"""The listener: chat upgrades to the chat handler, everything else to Hypercorn, one port."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
from hypercorn.config import Config
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from safestream.chat.wsframes import event_frame
from safestream.web.listener import PrefixedStream, is_chat_upgrade, serve, split_head
from safestream.web.wsproto_transport import WsprotoTransport

KEEP_ALIVE = 0.3

UPGRADE = (
    b"GET /ws/ann?room=main HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
    b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)


def test_split_head_waits_for_the_blank_line_and_keeps_the_rest() -> None:
    assert split_head(b"GET / HTTP/1.1\r\nHost: x\r\n") is None
    assert split_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody") == (
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"body",
    )
    assert split_head(b"GET / HTTP/1.1\nHost: x\n\nrest") == (
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"rest",
    )


@pytest.mark.parametrize(
    ("head", "chat"),
    [
        (UPGRADE, True),
        (UPGRADE.replace(b"Upgrade: websocket", b"upgrade:  WebSocket"), True),
        (UPGRADE.replace(b"GET /ws/", b"GET /api/"), False),  # another socket: Hypercorn
        (UPGRADE.replace(b"GET ", b"POST "), False),
        (UPGRADE.replace(b"Upgrade: websocket\r\n", b""), False),  # plain GET of /ws/...
        (b"PRI * HTTP/2.0\r\n\r\n", False),
        (b"garbage\r\n\r\n", False),
    ],
)
def test_only_a_get_upgrade_to_ws_is_a_chat_socket(head: bytes, chat: bool) -> None:
    assert is_chat_upgrade(head) is chat


async def test_prefixed_stream_replays_the_prefix_then_reads_the_socket() -> None:
    left, right = trio.socket.socketpair()
    async with trio.SocketStream(left) as server, trio.SocketStream(right) as client:
        stream = PrefixedStream(server, b"abcdef")
        await client.send_all(b"ghi")
        assert await stream.receive_some(4) == b"abcd"
        assert await stream.receive_some() == b"ef"
        assert await stream.receive_some() == b"ghi"
        assert stream.socket is server.socket


async def echo_app(
    scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    """A tiny ASGI app: answers every HTTP request with what it got."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = json.dumps(
        {"method": scope["method"], "path": scope["path"], "body": len(body)}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(answer)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})


async def hello_chat(transport: WsprotoTransport) -> None:
    await transport.accept()
    if transport.query.get("fail"):
        raise RuntimeError("handler bug")
    await transport.send_frames([event_frame({"type": "hello", "path": transport.path})])
    await transport.close(1000, "done")


@asynccontextmanager
async def listening(
    chat: Callable[[WsprotoTransport], Awaitable[None]] = hello_chat,
    send_buffer: int | None = None,
) -> AsyncIterator[tuple[str, int]]:
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.keep_alive_timeout = KEEP_ALIVE
    config.accesslog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            partial(
                serve,
                echo_app,
                config,
                chat,
                shutdown_trigger=stop.wait,
                chat_send_buffer=send_buffer,
            )
        )
        host, port = urls[0].removeprefix("http://").split(":")
        yield host, int(port)
        stop.set()


async def read_response(stream: trio.SocketStream, buffer: bytes = b"") -> tuple[bytes, bytes]:
    """One HTTP response with Content-Length: (head, body), reading what it needs."""
    while (split := split_head(buffer)) is None:
        buffer += await stream.receive_some()
    head, rest = split
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length")
    )
    while len(rest) < length:
        rest += await stream.receive_some()
    return head, rest[:length]


async def test_http_with_a_body_and_keep_alive_go_to_hypercorn() -> None:
    async with listening() as (host, port):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            body = b"x" * 100_000  # more than the first read: the rest comes from the socket
            await stream.send_all(
                b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
                + body
            )
            head, answer = await read_response(stream)
            assert head.startswith(b"HTTP/1.1 200")
            assert json.loads(answer) == {"method": "POST", "path": "/api/echo", "body": 100_000}
            await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head, answer = await read_response(stream)
            assert json.loads(answer)["path"] == "/health"


async def test_a_chat_upgrade_goes_to_the_chat_handler() -> None:
    async with listening() as (host, port):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            ws = WSConnection(ConnectionType.CLIENT)
            await stream.send_all(ws.send(Request(host="x", target="/ws/ann")))
            events: list[Any] = []
            while not any(isinstance(e, CloseConnection) for e in events):
                ws.receive_data(await stream.receive_some())
                events += list(ws.events())
            assert isinstance(events[0], AcceptConnection)
            assert isinstance(events[1], TextMessage)
            assert json.loads(events[1].data) == {"type": "hello", "path": "/ws/ann"}
            assert events[2].code == 1000


@pytest.mark.parametrize("send_buffer", [None, 65536])
async def test_chat_sockets_get_the_configured_send_buffer(send_buffer: int | None) -> None:
    sizes: list[int] = []

    async def measure(transport: WsprotoTransport) -> None:
        sizes.append(transport._stream.socket.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
        await hello_chat(transport)

    async with listening(measure, send_buffer) as (host, port):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            ws = WSConnection(ConnectionType.CLIENT)
            await stream.send_all(ws.send(Request(host="x", target="/ws/ann")))
            while not sizes:
                await stream.receive_some()
    if send_buffer is None:
        assert sizes[0] != 2 * 65536  # the kernel's default
    else:
        assert sizes[0] == 2 * send_buffer  # Linux doubles what it is given (bookkeeping)


async def test_a_failing_chat_handler_closes_1011_and_the_server_goes_on() -> None:
    async with listening() as (host, port):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            ws = WSConnection(ConnectionType.CLIENT)
            await stream.send_all(ws.send(Request(host="x", target="/ws/ann?fail=1")))
            events: list[Any] = []
            while not any(isinstance(e, CloseConnection) for e in events):
                ws.receive_data(await stream.receive_some())
                events += list(ws.events())
            assert events[-1].code == 1011
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head, _ = await read_response(stream)
            assert head.startswith(b"HTTP/1.1 200")


async def test_a_bad_chat_upgrade_is_answered_400() -> None:
    async with listening() as (host, port):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(b"GET /ws/ann HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
            data = b""
            while chunk := await stream.receive_some():
                data += chunk
            assert data.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("sent", [b"", b"GET /ws/ann HTTP/1.1\r\nHost: x\r\nUpgr"])
async def test_a_slow_or_silent_head_is_cut_at_the_keep_alive_timeout(sent: bytes) -> None:
    async with listening() as (host, port):
        start = trio.current_time()  # before connecting: the server's cut cannot come sooner
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(sent)
            with trio.fail_after(5):
                assert await stream.receive_some() == b""
            assert KEEP_ALIVE * 0.9 <= trio.current_time() - start < KEEP_ALIVE + 2


async def test_an_oversized_head_is_left_to_hypercorn_to_refuse() -> None:
    async with listening() as (host, port):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 20_000)
            data = b""
            with trio.fail_after(5):
                while chunk := await stream.receive_some():
                    data += chunk
            assert data.startswith(b"HTTP/1.1 4")

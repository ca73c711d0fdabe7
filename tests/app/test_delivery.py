"""Delivery over a real WsprotoTransport (a Unix socket pair): a viewer that stops reading
is cut off with 4008 by the outbox rule while the room goes on for everyone else."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import trio
import trio.lowlevel
import trio.testing
from appkit import open_node
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Request, TextMessage

from actors import start_child
from safestream.chat.connection import Connection, Identity
from safestream.chat.protocol import CloseCode
from safestream.chat.room_messages import RoomInfo
from safestream.chat.transport import SendNow
from safestream.chat.wsframes import event_frame
from safestream.web.wsproto_transport import WsprotoTransport

SMALL_BUFFER = 4096


def small_socket_pair() -> tuple[trio.SocketStream, WSConnection, WsprotoTransport]:
    """A client stream with its wsproto state and the server's transport, over a socket
    pair with small buffers (so a client that does not read fills them quickly)."""
    left, right = socket.socketpair()
    for sock in (left, right):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    client_ws = WSConnection(ConnectionType.CLIENT)
    head = client_ws.send(Request(host="test", target="/ws/ann"))
    server_stream = trio.SocketStream(trio.socket.from_stdlib_socket(left))
    client = trio.SocketStream(trio.socket.from_stdlib_socket(right))
    transport = WsprotoTransport.from_head(server_stream, head, b"", max_message_size=8192)
    return client, client_ws, transport


async def read_until_closed(
    stream: trio.SocketStream, ws: WSConnection
) -> tuple[list[str], CloseConnection]:
    """Every text message, then the close frame (answered)."""
    texts: list[str] = []
    partial: list[str] = []
    while True:
        ws.receive_data(await stream.receive_some(65536))
        close = collect_texts(ws, texts, partial)
        if close is not None:
            if ws.state is ConnectionState.REMOTE_CLOSING:
                await stream.send_all(ws.send(close.response()))
            return texts, close


def collect_texts(ws: WSConnection, texts: list[str], partial: list[str]) -> CloseConnection | None:
    """Add the text messages `ws` has finished to `texts` (`partial`: the pieces of one
    not yet finished); the close frame, if one came."""
    for event in ws.events():
        if isinstance(event, TextMessage):
            partial.append(event.data)
            if event.message_finished:
                texts.append("".join(partial))
                partial.clear()
        elif isinstance(event, CloseConnection):
            return event
    return None


async def test_viewer_that_stops_reading_is_cut_off_too_slow_and_others_get_everything(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    client, client_ws, transport = small_socket_pair()
    # The outbox rule, not the write timeout, must be what cuts this viewer off.
    async with open_node(tmp_path, connection_outbox_size=8, slow_consumer_secs=1000.0) as node:
        bob = await node.join("bob", capacity=1000)
        async with client, transport:
            await transport.accept()
            ann = Connection(
                node.next_conn_id(),
                transport,
                Identity("ann", "viewer", "ip"),
                "main",
                None,
                settings=node.parts.settings,
                metrics=node.parts.metrics,
                rooms=node.system.address("rooms"),
            )
            await start_child(node.system.address("connections"), ann.child_spec(), timeout=5)
            lines = [f"line {i} " + "x" * 300 for i in range(60)]
            for line in lines:
                await bob.post(line)
            chats = await bob.frames("chat", count=60)
            assert [c["message"] for c in chats] == lines
            room = await node.room()
            assert (await room.ask(RoomInfo(), timeout=1))["members"] == 1
            assert node.parts.metrics.slow_consumers == 1
            # ann reads again: whatever was written or queued, in order, then 4008.
            texts, close = await read_until_closed(client, client_ws)
            assert close.code == CloseCode.TOO_SLOW
            assert close.reason == "too slow: outbox full, reconnect with ?since="
            frames = [json.loads(text) for text in texts]
            got = [f["message"] for f in frames if f["type"] == "chat"]
            assert 0 < len(got) < len(lines) and got == lines[: len(got)]
            await ann.finished.wait()


async def test_the_transport_says_since_when_the_peer_stopped_taking_bytes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, _ws, transport = small_socket_pair()
    frame = event_frame({"type": "chat", "message": "x" * 1000})
    async with client, transport:
        await transport.accept()
        await transport.send_frames([frame])
        assert transport.stalled_since is None  # written at once
        start = trio.current_time()
        with trio.move_on_after(3):
            await transport.send_frames([frame] * 100)  # far more than both buffers
        assert transport.stalled_since == start
        received = 0

        async def reader() -> None:
            nonlocal received
            while chunk := await client.receive_some(65536):
                received += len(chunk)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await transport.send_frames([])  # the rest of the cancelled write
            assert transport.stalled_since is None
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        assert received > 101 * len(frame)  # every frame (and the 101 answer) arrived


async def test_send_now_writes_at_once_or_keeps_the_rest_for_send_frames_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, client_ws, transport = small_socket_pair()
    frames = [event_frame({"type": "chat", "message": f"{n} " + "x" * 1000}) for n in range(60)]
    async with client, transport:
        await transport.accept()
        assert transport.send_now(frames[:1]) is SendNow.WRITTEN  # no waiting
        assert transport.stalled_since is None
        start = trio.current_time()
        assert transport.send_now(frames[1:30]) is SendNow.KEPT  # more than the buffers take
        assert transport.stalled_since == start
        assert transport.send_now(frames[30:]) is SendNow.KEPT  # behind the rest, not written
        texts: list[str] = []

        async def reader() -> None:
            partial: list[str] = []
            while chunk := await client.receive_some(65536):
                client_ws.receive_data(chunk)
                collect_texts(client_ws, texts, partial)

        flushed = trio.Event()

        async def flush() -> None:
            await transport.send_frames([])  # finishes what send_now kept
            flushed.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(flush)
            await trio.testing.wait_all_tasks_blocked()  # the client is not reading
            assert transport.send_now(frames[:1]) is SendNow.BUSY  # nothing taken
            nursery.start_soon(reader)
            await flushed.wait()
            assert transport.stalled_since is None
            assert transport.send_now(frames[:1]) is SendNow.WRITTEN  # the fast path is back
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        messages = [json.loads(text)["message"].split()[0] for text in texts]
        assert messages == [str(n) for n in range(60)] + ["0"]

"""WsprotoTransport on a socket pair: handshake, reading, one write per batch, closing."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from wskit import Client, socket_pair
from wsproto.events import CloseConnection, Ping, TextMessage

from safestream.chat.transport import TransportClosed
from safestream.chat.wsframes import event_frame, text_frame
from safestream.web.wsproto_transport import HandshakeRefused, WsprotoTransport


async def accept(transport: WsprotoTransport, client: Client, sub: str | None = None) -> None:
    await transport.accept(sub)
    while client.accepted is None:
        await client.read_once()


async def test_handshake_exposes_the_request_and_answers_no_extension() -> None:
    async with socket_pair(
        "/ws/z%C3%B6e?room=main&token=abc&batch=1",
        subprotocols=["safestream", "token.jwt"],
        extensions=["permessage-deflate; client_max_window_bits"],
    ) as (transport, client):
        assert transport.path == "/ws/zöe"
        assert dict(transport.query) == {"room": "main", "token": "abc", "batch": "1"}
        assert transport.subprotocols == ["safestream", "token.jwt"]
        assert transport.headers["host"] == "test"
        assert transport.remote_addr == "unknown"  # a Unix socket has no address
        await accept(transport, client, "safestream")
        assert client.accepted is not None
        assert client.accepted.subprotocol == "safestream"
        assert client.accepted.extensions == []


def test_a_request_that_is_not_an_upgrade_is_refused_with_400() -> None:
    head = b"GET /ws/ann HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n\r\n"
    with pytest.raises(HandshakeRefused) as refused:
        WsprotoTransport.from_head(None, head, b"", max_message_size=10)  # type: ignore[arg-type]
    assert refused.value.response.startswith(b"HTTP/1.1 400 ")


async def test_receive_reassembles_fragments_and_answers_pings() -> None:
    async with socket_pair() as (transport, client):
        await accept(transport, client)
        await client.send(TextMessage(data='{"type":', message_finished=False))
        await client.send(Ping(payload=b"are you there"))
        await client.send(TextMessage(data='"ping"}', message_finished=True))
        assert await transport.receive() == '{"type":"ping"}'
        await client.read_once()
        assert client.pongs == [b"are you there"]


async def test_message_over_the_limit_closes_1009_at_the_first_fragment_over_it() -> None:
    async with socket_pair(max_message_size=100) as (transport, client):
        await accept(transport, client)
        await client.send(TextMessage(data="x" * 100, message_finished=False))
        await client.send(TextMessage(data="y", message_finished=False))  # never finished
        with pytest.raises(TransportClosed) as closed:
            await transport.receive()
        assert closed.value.code == 1009
        await client.read_until_closed()
        assert client.close is not None and client.close.code == 1009


async def test_message_exactly_at_the_limit_is_received() -> None:
    async with socket_pair(max_message_size=100) as (transport, client):
        await accept(transport, client)
        await client.send(TextMessage(data="é" * 100))  # characters, as Hypercorn counted
        assert await transport.receive() == "é" * 100


async def test_client_close_is_answered_and_reported_with_its_code() -> None:
    async with socket_pair() as (transport, client):
        await accept(transport, client)
        await client.send(CloseConnection(code=1000, reason="bye"))
        with pytest.raises(TransportClosed) as closed:
            await transport.receive()
        assert closed.value.code == 1000
        await client.read_until_closed()
        assert client.close is not None and client.close.code == 1000


async def test_send_frames_is_one_socket_write(monkeypatch: pytest.MonkeyPatch) -> None:
    async with socket_pair() as (transport, client):
        await accept(transport, client)
        sock = transport._stream.socket
        writes: list[int] = []
        real_send = sock.send

        async def spy(data: Any, *args: Any) -> int:
            writes.append(len(data))
            return await real_send(data, *args)

        monkeypatch.setattr(sock, "send", spy)
        frames = [event_frame({"type": "chat", "seq": i}) for i in range(20)]
        await transport.send_frames(frames)
        assert writes == [sum(len(f) for f in frames)]
        while len(client.texts) < 20:
            await client.read_once()
        assert client.texts == [f'{{"type":"chat","seq":{i}}}' for i in range(20)]


async def test_a_write_cut_by_a_timeout_is_finished_before_the_close_frame(
    autojump_clock: trio.testing.MockClock,
) -> None:
    big = "z" * 300_000
    async with socket_pair(small_buffers=True) as (transport, client):
        await accept(transport, client)
        with trio.move_on_after(5) as timer:
            await transport.send_frames([text_frame(big.encode()), event_frame({"n": 1})])
        assert timer.cancelled_caught  # the client is not reading
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.read_until_closed)
            await transport.close(4008, "too slow: send timed out")
        assert client.texts == [big, '{"n":1}']
        assert client.close is not None
        assert (client.close.code, client.close.reason) == (4008, "too slow: send timed out")


async def test_sending_after_close_raises_transport_closed() -> None:
    async with socket_pair() as (transport, client):
        await accept(transport, client)
        await transport.close(1001, "server shutting down")
        with pytest.raises(TransportClosed):
            await transport.send_frames([event_frame({"type": "pong"})])
        await client.read_until_closed()
        assert client.close is not None and client.close.code == 1001

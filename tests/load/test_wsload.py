"""The load client's sans-IO WebSocket pieces (load/wsload.py) and its Trio adapter
(load/wsclient.py) against a scripted socket: frames cut anywhere still parse, every
length encoding works, every marker of a batch frame is found, client frames are masked.

Server frames are built with the server's own framer (`safestream.chat.wsframes`), so the
parser is checked against what the server really sends.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import pytest
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "load"))  # scripts, no package

from wsclient import Closed, RawWebSocket
from wsload import (
    ERROR_CODE,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameParser,
    HandshakeFailed,
    WsProtocolError,
    chat_payload,
    check_handshake_response,
    client_frame,
    handshake_request,
    marker_pattern,
    mask,
    message_text,
    parse_close,
)

from safestream.chat.protocol import encode
from safestream.chat.wsframes import batch_frame, close_frame, event_frame, text_frame

TAG = "0123abcd"


def chat(number: int, tag: str = TAG) -> bytes:
    return event_frame({"type": "chat", "user": "ann", "message": message_text(tag, number)})


def feed_in_pieces(data: bytes, size: int) -> list[tuple[int, bytes]]:
    parser = FrameParser()
    out = []
    for start in range(0, len(data), size):
        out += parser.feed(data[start : start + size])
    return out


def test_parser_gives_the_same_frames_however_the_stream_is_cut() -> None:
    stream = (
        chat(1) + text_frame(b"x" * 300) + text_frame(b"y" * 70_000) + close_frame(4008, "slow")
    )
    whole = FrameParser().feed(stream)
    assert [(op, len(p)) for op, p in whole] == [
        (OP_TEXT, len(chat(1)) - 2),
        (OP_TEXT, 300),
        (OP_TEXT, 70_000),
        (OP_CLOSE, 6),
    ]
    for size in (1, 2, 3, 7, 1000):  # 1 and 3 split the 4- and 10-byte headers
        assert feed_in_pieces(stream, size) == whole
    assert parse_close(whole[-1][1]) == (4008, "slow")


def test_parser_reads_7_bit_16_bit_and_64_bit_lengths() -> None:
    for length, header in ((125, 2), (126, 4), (65_535, 4), (65_536, 10)):
        frame = text_frame(b"a" * length)
        assert len(frame) == header + length
        assert FrameParser().feed(frame) == [(OP_TEXT, b"a" * length)]


def test_parser_keeps_an_incomplete_frame_until_the_rest_arrives() -> None:
    frame = text_frame(b"b" * 200)
    parser = FrameParser()
    assert parser.feed(frame[:3]) == []  # half of a 16-bit length
    assert parser.feed(frame[3:150]) == []
    assert parser.feed(frame[150:] + frame[:1]) == [(OP_TEXT, b"b" * 200)]
    assert parser.feed(frame[1:]) == [(OP_TEXT, b"b" * 200)]


def test_parser_joins_continuation_frames_and_passes_control_frames_between() -> None:
    first = bytes((0x01, 3)) + b"abc"  # text, not final
    ping = bytes((0x89, 1)) + b"p"
    last = bytes((0x80, 2)) + b"de"  # continuation, final
    assert FrameParser().feed(first + ping + last) == [(OP_PING, b"p"), (OP_TEXT, b"abcde")]


def test_parser_refuses_a_masked_server_frame_and_a_stray_continuation() -> None:
    with pytest.raises(WsProtocolError):
        FrameParser().feed(client_frame(b"hi"))
    with pytest.raises(WsProtocolError):
        FrameParser().feed(bytes((0x80, 1)) + b"x")


def test_marker_pattern_counts_every_marker_of_a_batch_frame_and_only_this_run() -> None:
    history = event_frame(
        {"type": "history", "messages": [{"message": message_text("ffff0000", 9)}]}
    )
    batch = batch_frame([history, chat(3), chat(4), chat(5, tag="99999999"), chat(12)])
    ((opcode, payload),) = FrameParser().feed(batch)
    assert opcode == OP_TEXT and payload.startswith(b"[") and payload.endswith(b"]")
    assert [int(m[1]) for m in marker_pattern(TAG).finditer(payload)] == [3, 4, 12]
    # "-1 " does not match inside "-12 ": the number ends at the space.
    assert [int(m[1]) for m in marker_pattern(TAG).finditer(chat(12))] == [12]
    with pytest.raises(ValueError):
        marker_pattern("not-hex!")


def test_error_code_is_found_in_an_error_frame_as_the_server_encodes_it() -> None:
    payload = encode({"type": "error", "code": "room_busy", "detail": "room is busy"}).encode()
    assert ERROR_CODE.findall(b"[" + payload + b"," + payload + b"]") == [b"room_busy"] * 2


def test_client_frames_are_masked_with_the_key_in_the_header() -> None:
    key = b"\x01\x02\x03\x04"
    frame = client_frame(b"hello", mask_key=key)
    assert frame[0] == 0x81  # FIN + text
    assert frame[1] == 0x80 | 5  # mask bit + length
    assert frame[2:6] == key
    assert frame[6:] == bytes(b ^ key[i % 4] for i, b in enumerate(b"hello"))
    assert mask(frame[6:], key) == b"hello"


@pytest.mark.parametrize(
    ("length", "marker", "header"), [(125, 125, 2), (126, 126, 4), (70_000, 127, 10)]
)
def test_client_frames_use_the_shortest_length_encoding(
    length: int, marker: int, header: int
) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    frame = client_frame(payload)
    assert frame[1] == 0x80 | marker
    key = frame[header : header + 4]
    assert mask(frame[header + 4 :], key) == payload
    if marker == 126:
        assert struct.unpack("!H", frame[2:4])[0] == length


def test_each_client_frame_gets_a_fresh_mask() -> None:
    assert client_frame(b"same")[2:6] != client_frame(b"same")[2:6]


def test_chat_payload_is_the_documented_chat_frame() -> None:
    assert chat_payload("hi") == b'{"type": "chat", "message": "hi"}'


def accept_for(key: str) -> str:
    digest = hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    return base64.b64encode(digest).decode()


def test_handshake_checks_status_and_accept_and_keeps_the_bytes_after_the_head() -> None:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    request = handshake_request("127.0.0.1", 8000, "/ws/ann?room=main", key)
    assert request.startswith(b"GET /ws/ann?room=main HTTP/1.1\r\n")
    assert b"Origin: http://127.0.0.1:8000\r\n" in request and request.endswith(b"\r\n\r\n")
    head = f"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: {accept_for(key)}\r\n\r\n"
    assert check_handshake_response(head.encode()[:20], key) is None
    assert check_handshake_response(head.encode() + chat(1), key) == chat(1)
    with pytest.raises(HandshakeFailed):
        check_handshake_response(head.replace(accept_for(key), "wrong").encode(), key)
    with pytest.raises(HandshakeFailed) as refused:
        check_handshake_response(b"HTTP/1.1 403 Forbidden\r\n\r\n", key)
    assert refused.value.status == 403


def unmask_client_frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The server side of a test: short masked client frames, and the bytes left over."""
    frames = []
    while len(data) >= 6:
        assert data[1] & 0x80, "a client frame must be masked"
        length = data[1] & 0x7F
        assert length < 126
        if len(data) < 6 + length:
            break
        frames.append((data[0] & 0x0F, mask(data[6 : 6 + length], data[2:6])))
        data = data[6 + length :]
    return frames, data


@asynccontextmanager
async def scripted_connection(
    expect: int,
) -> AsyncIterator[tuple[RawWebSocket, list[tuple[int, bytes]]]]:
    """A RawWebSocket connected to a server that accepts the upgrade, dribbles history,
    chat 1, a ping and chat 2, closes with 4008, and collects the client's frames (the
    list yielded, unmasked) until it has `expect` of them; leaving the block closes the
    socket and waits for them."""
    got_from_client: list[tuple[int, bytes]] = []
    all_read = trio.Event()

    async def server(stream: trio.SocketStream) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += await stream.receive_some(4096)
        key = next(
            line.split(b":", 1)[1].strip().decode()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        )
        head = (
            f"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: {accept_for(key)}\r\n\r\n"
        )
        history = event_frame({"type": "history", "messages": []})
        data = head.encode() + history + chat(1) + bytes((0x89, 2)) + b"hi" + chat(2)
        for start in range(0, len(data), 5):  # dribbled: headers cut everywhere
            await stream.send_all(data[start : start + 5])
            await trio.lowlevel.checkpoint()
        await stream.send_all(close_frame(4008, "too slow"))
        data = b""
        while len(got_from_client) < expect:
            data += await stream.receive_some(4096)
            frames, data = unmask_client_frames(data)
            got_from_client.extend(frames)
        all_read.set()

    async with trio.open_nursery() as nursery:
        (listener,) = await nursery.start(partial(trio.serve_tcp, server, 0, host="127.0.0.1"))
        port = listener.socket.getsockname()[1]
        ws = await RawWebSocket.connect("127.0.0.1", port, "/ws/ann")
        try:
            yield ws, got_from_client
        finally:
            await ws.aclose()
        with trio.fail_after(5):
            await all_read.wait()
        nursery.cancel_scope.cancel()


async def test_raw_websocket_reads_split_frames_answers_pings_and_reports_the_close() -> None:
    async with scripted_connection(expect=3) as (ws, got_from_client):
        payloads = []
        with pytest.raises(Closed) as closed:
            while True:
                for _, payload in await ws.receive():
                    payloads.append(payload)
                    if len(payloads) == 2:
                        await ws.send_text(b"after two")
        assert closed.value.code == 4008
        assert b'"type":"history"' in payloads[0]
        assert [int(m[1]) for p in payloads for m in marker_pattern(TAG).finditer(p)] == [1, 2]
    # Every client frame was masked; unmasked: the text, the pong echoing the ping's
    # "hi" (before or after the text: that depends on how the reads were cut), the close
    # echoing 4008.
    assert sorted(got_from_client) == [
        (OP_TEXT, b"after two"),
        (OP_CLOSE, struct.pack("!H", 4008)),
        (OP_PONG, b"hi"),
    ]


async def test_read_now_gives_what_the_socket_holds_then_the_close_without_waiting() -> None:
    async with scripted_connection(expect=2) as (ws, got_from_client):
        payloads = [payload for _, payload in await ws.receive()]  # the history
        end = None
        with trio.fail_after(5):
            while end is None:
                await trio.lowlevel.wait_readable(ws.fileno())
                frames, end = ws.read_now()
                payloads += [payload for _, payload in frames]
        assert end.code == 4008 and end.reason == "too slow"
        assert b'"type":"history"' in payloads[0]
        assert [int(m[1]) for p in payloads for m in marker_pattern(TAG).finditer(p)] == [1, 2]
    assert sorted(got_from_client) == [(OP_CLOSE, struct.pack("!H", 4008)), (OP_PONG, b"hi")]

"""Server frames built by `wsframes` are byte for byte what wsproto would send."""

from __future__ import annotations

import json

import pytest
from wsproto.frame_protocol import FrameProtocol

from safestream.chat.protocol import encode
from safestream.chat.wsframes import (
    batch_frame,
    close_frame,
    event_frame,
    frame_payload,
    text_frame,
)

# The three header sizes and their edges: 7-bit, 16-bit and 64-bit payload lengths.
LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def wsproto_server() -> FrameProtocol:
    return FrameProtocol(client=False, extensions=[])


@pytest.mark.parametrize("length", LENGTHS)
def test_text_frame_matches_wsproto_at_every_header_size(length: int) -> None:
    payload = "é" * (length // 2) + "x" * (length % 2)  # multi-byte text, `length` bytes
    data = payload.encode("utf-8")
    assert len(data) == length
    assert text_frame(data) == bytes(wsproto_server().send_data(payload))


@pytest.mark.parametrize("length", LENGTHS)
def test_frame_payload_cuts_exactly_the_header(length: int) -> None:
    data = b"y" * length
    assert frame_payload(text_frame(data)) == data


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (1000, ""),
        (1001, "server shutting down"),
        (4008, "too slow: outbox full, reconnect with ?since="),
        (1009, "frame too big"),
        (1008, "ü" * 70),  # 140 bytes: cut to 123 on a character boundary
    ],
)
def test_close_frame_matches_wsproto(code: int, reason: str) -> None:
    assert close_frame(code, reason) == bytes(wsproto_server().close(code, reason))


def test_event_frame_carries_exactly_the_encoded_event() -> None:
    event = {"type": "chat", "user": "zoë", "message": "hi ✓", "score": 0.25}
    frame = event_frame(event)
    assert frame_payload(frame) == encode(event).encode("utf-8")
    assert frame == bytes(wsproto_server().send_data(encode(event)))


def test_batch_frame_is_the_json_array_of_the_event_payloads() -> None:
    events = [{"type": "chat", "seq": 1}, {"type": "gift", "amount": 3}, {"type": "pong"}]
    frame = batch_frame([event_frame(e) for e in events])
    assert json.loads(frame_payload(frame)) == events
    assert frame_payload(frame) == ("[" + ",".join(encode(e) for e in events) + "]").encode()


def test_batch_frame_of_long_events_uses_the_long_header() -> None:
    events = [{"type": "history", "messages": ["m" * 40_000]}] * 2
    frames = [event_frame(e) for e in events]
    assert frames[0][1] == 126  # each event: 16-bit length
    frame = batch_frame(frames)
    assert frame[1] == 127  # both: 64-bit length
    assert json.loads(frame_payload(frame)) == events

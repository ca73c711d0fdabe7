"""Server WebSocket frames as finished bytes, sans-IO (RFC 6455, section 5.2).

A frame from server to client is never masked, and chat sockets negotiate no extension
(no permessage-deflate), so a frame depends only on its payload: a room frames an event
once and writes the *same bytes* to every viewer. Only what the server sends is built
here; reading client frames (masked, fragmented, control frames) is wsproto's job.

Example:
    frame = event_frame({"type": "pong"})      # b'\\x81\\x0f{"type":"pong"}'
    assert frame_payload(frame) == b'{"type":"pong"}'
    joined = batch_frame([frame, frame])       # one text frame: [{...},{...}]
    bye = close_frame(1001, "server shutting down")
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from safestream.chat.protocol import encode

__all__ = [
    "MAX_CLOSE_REASON_BYTES",
    "batch_frame",
    "close_frame",
    "event_frame",
    "frame_payload",
    "split_frames",
    "text_frame",
]

FIN_TEXT = 0x81  # FIN bit + opcode 1 (text)
FIN_CLOSE = 0x88  # FIN bit + opcode 8 (close)
MAX_CLOSE_REASON_BYTES = 123  # a control frame carries at most 125 bytes: code + reason


def _header(first: int, length: int) -> bytes:
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked text frame carrying `payload` (UTF-8, not checked)."""
    return _header(FIN_TEXT, len(payload)) + payload


def event_frame(event: dict[str, Any]) -> bytes:
    """A server event as its finished frame: `protocol.encode` text, UTF-8, framed.

    The payload is byte for byte what one-event frames always carried.
    """
    return text_frame(encode(event).encode("utf-8"))


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame; the reason is cut to 123 bytes on a character boundary."""
    raw = reason.encode("utf-8")
    if len(raw) > MAX_CLOSE_REASON_BYTES:
        raw = raw[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore").encode("utf-8")
    payload = struct.pack("!H", code) + raw
    return _header(FIN_CLOSE, len(payload)) + payload


def _header_length(frame: bytes) -> int:
    marker = frame[1] & 0x7F
    return 2 if marker < 126 else 4 if marker == 126 else 10


def frame_payload(frame: bytes) -> bytes:
    """The payload of a frame built here (the header cut off)."""
    return frame[_header_length(frame) :]


def split_frames(data: bytes) -> list[bytes]:
    """The frames of `data`, frames built here written one after the other (a room
    writes a delivered batch to a viewer as one such run)."""
    frames = []
    while data:
        header = _header_length(data)
        marker = data[1] & 0x7F
        if marker < 126:
            length = marker
        else:
            length = struct.unpack("!H" if marker == 126 else "!Q", data[2:header])[0]
        frames.append(data[: header + length])
        data = data[header + length :]
    return frames


def batch_frame(frames: Sequence[bytes]) -> bytes:
    """One text frame whose payload is the JSON array of the frames' payloads, in order.

    Batched clients get this instead of one frame per event; each element is exactly
    the payload the event's own frame carries.
    """
    views = [memoryview(frame)[_header_length(frame) :] for frame in frames]
    return text_frame(b"[" + b",".join(views) + b"]")

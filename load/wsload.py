"""A load client's WebSocket wire format, sans-IO: handshake bytes, frame parsing, masking.

The fan-out benchmark needs a client whose cost per frame is far below the server's, so
it speaks RFC 6455 itself instead of going through trio-websocket: the handshake is
written and checked by hand, server frames (never masked) are cut out of the byte
stream with their 2-10 byte header, and nothing is JSON-decoded per frame; benchmark
markers are found in the payload with a bytes regex (every marker of a `?batch=1` array
frame counts). Frames the client sends are masked with a fresh key, as RFC 6455
requires of every client frame. No I/O here: `wsclient.py` is the thin Trio adapter and
`tests/load/test_wsload.py` tests this module without sockets.

Example:
    key = new_key()
    sock.sendall(handshake_request("127.0.0.1", 8000, "/ws/ann?room=main&token=...", key))
    rest = check_handshake_response(head, key)       # head: bytes up to the blank line
    parser = FrameParser()
    for opcode, payload in parser.feed(rest + sock.recv(65536)):
        numbers = [int(m[1]) for m in marker_pattern(tag).finditer(payload)]
    sock.sendall(client_frame(chat_payload(message_text(tag, 7))))
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct

__all__ = [
    "ERROR_CODE",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameParser",
    "HandshakeFailed",
    "WsProtocolError",
    "chat_payload",
    "check_handshake_response",
    "client_frame",
    "close_payload",
    "handshake_request",
    "marker_pattern",
    "mask",
    "message_text",
    "new_key",
    "parse_close",
]

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE_BYTES = 16 << 20  # a runaway length field fails loudly instead of buffering
# An error frame as the server encodes it (`protocol.encode`: compact, keys in order).
ERROR_CODE = re.compile(rb'"type":"error","code":"([^"]*)"')


class WsProtocolError(Exception):
    """The server sent something RFC 6455 forbids (a masked frame, a huge length...)."""


class HandshakeFailed(Exception):
    """The upgrade was not answered with a valid `101 Switching Protocols`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status


def new_key() -> str:
    """A fresh `Sec-WebSocket-Key` (16 random bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def handshake_request(
    host: str, port: int, path: str, key: str, *, origin: bool = True, protocols: str = ""
) -> bytes:
    """The upgrade request for `path` (with its query). `origin` sends the page origin
    a browser on the same host would (the chat socket also accepts none)."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: http://{host}:{port}")
    if protocols:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def check_handshake_response(data: bytes, key: str) -> bytes | None:
    """Check the answer to the upgrade once its head is in `data`.

    Returns:
        None while the head is incomplete, else the bytes after it (the first frames,
        which often arrive in the same read).

    Raises:
        HandshakeFailed: not a 101, or a wrong `Sec-WebSocket-Accept`.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > 65536:
            raise HandshakeFailed(0, "no end of the response head in 64 KiB")
        return None
    status_line, *header_lines = data[:end].decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if status != 101:
        raise HandshakeFailed(status, status_line)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    expected = base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != expected:
        raise HandshakeFailed(status, "wrong Sec-WebSocket-Accept")
    return data[end + 4 :]


def mask(data: bytes, key: bytes) -> bytes:
    """XOR `data` with the 4-byte `key` repeated (masking and unmasking are the same)."""
    if not data:
        return b""
    length = len(data)
    keystream = (key * (length // 4 + 1))[:length]
    return (int.from_bytes(data, "big") ^ int.from_bytes(keystream, "big")).to_bytes(length, "big")


def client_frame(payload: bytes, opcode: int = OP_TEXT, mask_key: bytes | None = None) -> bytes:
    """One final, masked client frame (a random key unless `mask_key` is given)."""
    key = os.urandom(4) if mask_key is None else mask_key
    if len(key) != 4:
        raise ValueError("a masking key is 4 bytes")
    length = len(payload)
    first = 0x80 | opcode
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    return header + key + mask(payload, key)


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode("utf-8")[:123]


def parse_close(payload: bytes) -> tuple[int, str]:
    """`(code, reason)` of a close frame; 1005 when it carries no code (RFC 6455 7.1.5)."""
    if len(payload) < 2:
        return 1005, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


class FrameParser:
    """Cuts server frames out of a byte stream fed in pieces of any size.

    `feed` returns every complete message as `(opcode, payload)`: text and binary
    messages whole (continuation frames joined), control frames as they come. A header
    or payload split across reads waits in the buffer for the next `feed`.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Take `data`, return the messages it completes.

        Raises:
            WsProtocolError: a masked server frame, a fragmented control frame, an
                unexpected continuation, or a length over 16 MiB.
        """
        buffer = self._buffer + data if self._buffer else data
        size = len(buffer)
        out: list[tuple[int, bytes]] = []
        pos = 0
        while size - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            if second & 0x80:
                raise WsProtocolError("the server masked a frame")
            length = second & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, pos + 2)
                start = pos + 10
                if length > MAX_MESSAGE_BYTES:
                    raise WsProtocolError(f"a frame of {length} bytes")
            end = start + length
            if end > size:
                break
            self._message(first, buffer[start:end], out)
            pos = end
        self._buffer = buffer[pos:] if pos < size else b""
        return out

    def _message(self, first: int, payload: bytes, out: list[tuple[int, bytes]]) -> None:
        opcode = first & 0x0F
        final = bool(first & 0x80)
        if opcode >= OP_CLOSE:
            if not final:
                raise WsProtocolError("a fragmented control frame")
            out.append((opcode, payload))
        elif opcode == OP_CONTINUATION:
            if not self._fragments:
                raise WsProtocolError("a continuation frame without a first fragment")
            self._fragments.append(payload)
            if final:
                out.append((self._fragment_opcode, b"".join(self._fragments)))
                self._fragments = []
        elif self._fragments:
            raise WsProtocolError("a new message inside a fragmented one")
        elif final:
            out.append((opcode, payload))
        else:
            self._fragment_opcode = opcode
            self._fragments = [payload]


def message_text(tag: str, number: int) -> str:
    """The chat line carrying benchmark marker `number` of run `tag` (8 hex digits)."""
    return f"fo{tag}-{number} hello everyone"


def marker_pattern(tag: str) -> re.Pattern[bytes]:
    """Finds every marker of run `tag` in a payload; group 1 is the message number.

    The tag keeps markers of earlier runs (in a `history` frame) out of the count.
    """
    if not re.fullmatch(r"[0-9a-f]{8}", tag):
        raise ValueError("a run tag is 8 lowercase hex digits")
    return re.compile(b"fo" + tag.encode("ascii") + rb"-(\d+) ")


def chat_payload(text: str) -> bytes:
    """The client's chat frame payload (docs/protocol.md: `{"type":"chat","message":...}`)."""
    return json.dumps({"type": "chat", "message": text}).encode("utf-8")

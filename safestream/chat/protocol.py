"""The SafeStream wire protocol, sans-IO: parse client frames, build server frames.

No sockets here: plain functions and frozen dataclasses, tested without a network.
The original SafeStream's frames keep their fields and meaning; everything else is
additive (see docs/protocol.md for every frame and close code).

Example:
    frame = parse_client_frame('{"type":"chat","message":"hi"}', max_message_length=500)
    assert frame == ChatFrame(message="hi")
    text = encode(error_frame("rate_limited", "slow down"))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from safestream.chat.text import InvalidText, clean_chat_text

__all__ = [
    "BUSY_CAUSES",
    "ROOM_RESTART_REASON",
    "SHUTDOWN_REASON",
    "AuthFrame",
    "ChatFrame",
    "ClientFrame",
    "CloseCode",
    "PingFrame",
    "ProtocolError",
    "encode",
    "error_frame",
    "iso_time",
    "parse_client_frame",
]


class CloseCode(IntEnum):
    """WebSocket close codes the server uses, each with a documented meaning."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server is shutting down; reconnect with ?since= to resume
    POLICY_VIOLATION = 1008  # bad or missing token, origin refused, username mismatch
    TOO_BIG = 1009  # a frame larger than MAX_FRAME_BYTES
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # the room restarted after a crash; reconnect with ?since=
    TRY_AGAIN_LATER = 1013  # connection limits reached (node, user or IP)
    KICKED = 4000  # a moderator kicked this user
    BANNED = 4003  # the user is banned
    TOO_SLOW = 4008  # the viewer did not read its frames fast enough


# The close reasons of GOING_AWAY and SERVICE_RESTART say what a client should do.
SHUTDOWN_REASON = "server shutting down, reconnect with ?since=<last seq>"
ROOM_RESTART_REASON = "room restarting, reconnect with ?since=<last seq>"

# Why a room refuses posts with `room_busy` (the error's detail; `/metrics` counts each
# under `overload.room_busy`).
BUSY_CAUSES = {
    "queue": "its pipeline queue is full",
    "pipeline": "moderation and storage are behind",
    "delivery": "delivery to viewers is behind",
    "elsewhere": "delivery to viewers on another node is behind",
}


@dataclass(frozen=True)
class ProtocolError(Exception):
    """A client frame was refused; `code` is the machine-readable reason."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class ChatFrame:
    """`{"type":"chat","message":"..."}`: a chat line, already stripped and length-checked."""

    message: str


@dataclass(frozen=True)
class AuthFrame:
    """`{"type":"auth","token":"..."}`: the token as a first frame, out of access logs."""

    token: str


@dataclass(frozen=True)
class PingFrame:
    """`{"type":"ping"}`: answered by `{"type":"pong"}`; keeps idle proxies open."""


ClientFrame = ChatFrame | AuthFrame | PingFrame


def parse_client_frame(raw: str | bytes, *, max_message_length: int) -> ClientFrame:
    """Validate one client frame.

    Args:
        raw: the frame's payload (text, or UTF-8 bytes).
        max_message_length: the most characters a chat message may have.

    Returns:
        The typed frame.

    Raises:
        ProtocolError: with code `bad_json`, `bad_frame`, `bad_text`, `unknown_type`,
            `empty_message` or `message_too_long`.

    Chat text is cleaned here, once (`safestream.chat.text.clean_chat_text`); length
    and emptiness are judged on the cleaned text. No error detail echoes client text.
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError("bad_json", "frame is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "frame must be a JSON object")
    kind = data.get("type")
    if kind == "chat":
        message = data.get("message")
        if not isinstance(message, str):
            raise ProtocolError("bad_frame", "chat frame needs a string 'message'")
        try:
            message = clean_chat_text(message)
        except InvalidText as exc:
            raise ProtocolError("bad_text", "message is not valid Unicode text") from exc
        if not message:
            raise ProtocolError("empty_message", "message is empty")
        if len(message) > max_message_length:
            raise ProtocolError(
                "message_too_long", f"message is longer than {max_message_length} characters"
            )
        return ChatFrame(message=message)
    if kind == "auth":
        token = data.get("token")
        if not isinstance(token, str) or not token or not token.isascii():
            raise ProtocolError("bad_frame", "auth frame needs a string 'token'")
        return AuthFrame(token=token)
    if kind == "ping":
        return PingFrame()
    if not isinstance(kind, str):
        raise ProtocolError("bad_frame", "frame needs a string 'type'")
    raise ProtocolError("unknown_type", "unknown frame type (chat, auth or ping)")


def encode(frame: dict[str, Any]) -> str:
    """Serialise a server frame compactly (UTF-8 kept as is)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: str, detail: str) -> dict[str, Any]:
    """`{"type":"error","code","detail"}`: the connection stays open."""
    return {"type": "error", "code": code, "detail": detail}


def iso_time(epoch: float) -> str:
    """The `ts` format of every frame: ISO 8601 in UTC with microseconds."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()

"""Property-based: no client frame, however malformed, escapes `parse_client_frame` as
anything but a typed frame or a `ProtocolError`, and an accepted chat text is clean."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from safestream.chat.protocol import (
    AuthFrame,
    ChatFrame,
    PingFrame,
    ProtocolError,
    encode,
    error_frame,
    parse_client_frame,
)

LIMIT = 50
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
frames = st.fixed_dictionaries(
    {"type": st.sampled_from(["chat", "auth", "ping", "gift", "", 5])},
    optional={"message": json_values, "token": json_values},
)


def parse(raw: str | bytes) -> Any:
    try:
        return parse_client_frame(raw, max_message_length=LIMIT)
    except ProtocolError as error:
        # An error frame must itself be sendable: valid UTF-8 JSON.
        encode(error_frame(error.code, error.detail)).encode("utf-8")
        return error


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary())
def test_arbitrary_payloads_are_a_frame_or_a_protocol_error(raw: str | bytes) -> None:
    assert isinstance(parse(raw), ChatFrame | AuthFrame | PingFrame | ProtocolError)


@settings(max_examples=300, deadline=None)
@given(frames)
def test_frame_shaped_objects_are_a_frame_or_a_protocol_error(frame: dict[str, Any]) -> None:
    result = parse(json.dumps(frame))
    assert isinstance(result, ChatFrame | AuthFrame | PingFrame | ProtocolError)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=80))
def test_accepted_chat_text_is_clean_and_within_the_limit(text: str) -> None:
    raw = json.dumps({"type": "chat", "message": text})  # keeps lone surrogates escaped
    result = parse(raw)
    if isinstance(result, ChatFrame):
        message = result.message
        message.encode("utf-8")
        assert 0 < len(message) <= LIMIT
        assert message == message.strip()
        assert not any(unicodedata.category(ch) == "Cc" for ch in message)
        assert not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in message)
    else:
        assert isinstance(result, ProtocolError)
        assert result.code in {"bad_text", "empty_message", "message_too_long"}


def test_deeply_nested_json_is_a_bad_json_error_not_a_crash() -> None:
    result = parse("[" * 100_000 + "]" * 100_000)
    assert isinstance(result, ProtocolError) and result.code == "bad_json"

"""The sans-IO wire protocol: every client frame shape and every refusal."""

import json
import re
from pathlib import Path

import pytest

from safestream.chat.protocol import (
    AuthFrame,
    ChatFrame,
    CloseCode,
    PingFrame,
    ProtocolError,
    encode,
    error_frame,
    iso_time,
    parse_client_frame,
)


def parse(raw: str | bytes, limit: int = 10) -> object:
    return parse_client_frame(raw, max_message_length=limit)


def test_original_chat_frame_is_parsed_and_stripped() -> None:
    assert parse('{"type":"chat","message":"  hi  "}') == ChatFrame(message="hi")


def test_chat_frame_accepts_bytes_payload() -> None:
    assert parse(b'{"type":"chat","message":"hi"}') == ChatFrame(message="hi")


def test_auth_and_ping_frames() -> None:
    assert parse('{"type":"auth","token":"abc"}') == AuthFrame(token="abc")
    assert parse('{"type":"ping"}') == PingFrame()


def test_message_exactly_at_length_limit_is_accepted() -> None:
    assert parse(json.dumps({"type": "chat", "message": "x" * 10})) == ChatFrame("x" * 10)


def test_message_one_over_length_limit_is_refused() -> None:
    with pytest.raises(ProtocolError) as info:
        parse(json.dumps({"type": "chat", "message": "x" * 11}))
    assert info.value.code == "message_too_long"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        ("[1,2]", "bad_frame"),
        ('{"message":"hi"}', "bad_frame"),
        ('{"type":"chat"}', "bad_frame"),
        ('{"type":"chat","message":5}', "bad_frame"),
        ('{"type":"chat","message":"   "}', "empty_message"),
        ('{"type":"auth","token":""}', "bad_frame"),
        ('{"type":"dance"}', "unknown_type"),
    ],
)
def test_bad_frames_get_a_machine_readable_code(raw: str | bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(raw)
    assert info.value.code == code
    assert info.value.detail


def test_encode_is_compact_and_keeps_unicode() -> None:
    assert encode({"type": "chat", "message": "héllo"}) == '{"type":"chat","message":"héllo"}'


def test_error_frame_shape() -> None:
    assert error_frame("rate_limited", "slow down") == {
        "type": "error",
        "code": "rate_limited",
        "detail": "slow down",
    }


def test_iso_time_is_utc() -> None:
    assert iso_time(0.0) == "1970-01-01T00:00:00+00:00"


def test_every_close_code_is_in_the_protocol_doc_and_nothing_else_is() -> None:
    """Clients key on the numbers: the table in docs/protocol.md is their contract."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = doc.split("### Close codes", 1)[1].split("\n\n", 2)[1]
    documented = {int(code) for code in re.findall(r"^\| (\d{4}) \|", section, re.M)}
    assert documented == {code.value for code in CloseCode}


def test_close_codes_are_registered_codes_or_in_the_private_range() -> None:
    """Standard codes come from the IANA registry RFC 6455 set up (1000-1014; 1004 is
    reserved and 1005, 1006, 1015 must never be sent); an application's own codes must be
    in RFC 6455's private range 4000-4999."""
    for code in CloseCode:
        standard = 1000 <= code <= 1014 and code not in (1004, 1005, 1006)
        assert standard or 4000 <= code <= 4999, code

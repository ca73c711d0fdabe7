"""The envelopes rooms exchange across nodes: what this version writes it reads back,
and anything else (another version, a stray publisher) is refused as Malformed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from safestream.chat.frames import ChatMessage
from safestream.cluster.room_link import Malformed, decode_event, decode_post


def message(**changes: object) -> ChatMessage:
    fields: dict[str, object] = {
        "id": "a" * 32, "room": "main", "seq": 7, "user": "ann", "original": "hi",
        "text": "hi", "ts": 1.5, "scores": {"toxicity": 0.1}, "triggers": ("x",),
    }  # fmt: skip
    fields.update(changes)
    return ChatMessage(**fields)  # type: ignore[arg-type]


def envelope(**body: object) -> bytes:
    return json.dumps({"v": 1, "node": "a", **body}).encode()


def test_a_decided_message_round_trips() -> None:
    sent = message()
    event = decode_event(envelope(message=dataclasses.asdict(sent), approved=False))
    assert event.message == sent and event.node == "a" and not event.approved


def test_a_directed_frame_and_a_presence_count_round_trip() -> None:
    event = decode_event(envelope(frame={"type": "error", "code": "muted"}, to="ann", mods=True))
    assert event.frame == {"type": "error", "code": "muted"} and event.to == "ann" and event.mods
    assert decode_event(envelope(presence=3)).presence == 3
    reported = decode_event(envelope(presence=3, behind_ms=1500))
    assert (reported.presence, reported.behind_ms) == (3, 1500)
    assert decode_event(envelope(presence=3)).behind_ms == 0  # a node that does not say
    assert decode_event(envelope(presence=3, seq=41)).seq == 41
    assert decode_event(envelope(presence=3)).seq is None


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"v": 2, "node": "a", "presence": 1}).encode(),
        json.dumps({"v": 1, "presence": 1}).encode(),
        envelope(presence=-1),
        envelope(presence=True),
        envelope(presence=1, behind_ms=-5),
        envelope(presence=1, behind_ms="1500"),
        envelope(presence=1, behind_ms=1.5),
        envelope(presence=1, seq=-1),
        envelope(presence=1, seq="7"),
        envelope(message={"id": "x"}),
        envelope(frame={"no": "type"}),
        envelope(frame={"type": "chat"}, to=5),
        envelope(),
        b"[" * 100_000,
    ],
)
def test_malformed_events_are_refused(payload: bytes) -> None:
    with pytest.raises(Malformed):
        decode_event(payload)


@pytest.mark.parametrize(
    "body",
    [
        {"user": "ann", "role": "viewer"},
        {"user": "ann", "role": "viewer", "text": ""},
        {"user": "ann", "role": "viewer", "text": "x" * 501},
        {"user": 5, "role": "viewer", "text": "hi"},
    ],
)
def test_malformed_posts_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(Malformed):
        decode_post(envelope(**body), max_length=500)


def test_a_forwarded_post_round_trips() -> None:
    post = decode_post(envelope(user="ann", role="viewer", text="hi"), max_length=500)
    assert (post.node, post.user, post.role, post.text) == ("a", "ann", "viewer", "hi")

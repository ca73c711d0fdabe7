"""A shadow policy adds its decision to each message and changes nothing else."""

from __future__ import annotations

import dataclasses

from safestream.chat.frames import ChatMessage, chat_frame, moderator_view
from safestream.moderation.policy import Band, RoomPolicy
from safestream.moderation.shadow import Shadow, ShadowBoard

STRICT = RoomPolicy(version=2, bands=(Band("any", 0.0, "block"),))


def message(seq: int, **kw: object) -> ChatMessage:
    values: dict[str, object] = {
        "id": f"m{seq}",
        "room": "main",
        "seq": seq,
        "user": "ann",
        "original": "hello",
        "text": "hello",
        "ts": 1.0,
        "scores": {"toxicity": 0.1},
    }
    values.update(kw)
    return ChatMessage(**values)  # type: ignore[arg-type]


def test_without_a_shadow_messages_pass_unchanged() -> None:
    batch = [message(1), message(2)]
    assert ShadowBoard().decide("main", batch) == batch


def test_the_shadow_decides_every_message_and_only_its_own_fields_change() -> None:
    board = ShadowBoard()
    board.set("main", Shadow(4, "main", STRICT))
    batch = [message(1), message(2, scores={}, action="unscored")]
    decided = board.decide("main", batch)
    assert [(m.shadow_action, m.shadow_id) for m in decided] == [("block", 4), ("hold", 4)]
    for before, after in zip(batch, decided, strict=True):
        assert dataclasses.replace(after, shadow_action=None, shadow_id=None) == before
        assert chat_frame(after) == chat_frame(before)  # what viewers get is the same
    view = moderator_view(chat_frame(decided[0]), decided[0])
    assert view["shadow"] == {"id": 4, "action": "block", "agrees": False}
    assert board.decide("other", batch) == batch
    board.set("main", None)
    assert board.decide("main", batch) == batch

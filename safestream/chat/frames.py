"""Chat events and the server frames built from them (shared by rooms, routes, gifts).

A `ChatMessage` is a stamped, moderated chat line; `chat_frame` renders it with the
original protocol's fields (`id`, `user`, `message`, `toxic`, `score`, `ts`) plus ours
(`room`, `seq`, `action`, `scores`, `policy_version`). What only moderators see — why
the decision was taken and what a shadow policy would have done — is added by
`moderator_view` to the frames the moderators' feed carries; viewers never get it.

Example:
    frame = chat_frame(message)       # dict, ready for protocol.encode
    event = moderator_view(frame, message)   # + status, why, shadow
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from safestream.chat.protocol import iso_time
from safestream.moderation.policy import Action
from safestream.store.records import MessageRecord, MessageRow, MessageStatus

__all__ = [
    "ChatMessage",
    "agrees",
    "chat_frame",
    "gift_frame",
    "history_frame",
    "moderation_frame",
    "moderator_view",
    "new_message_id",
    "notice_frame",
    "presence_frame",
]


def new_message_id() -> str:
    """A 32-character random hex id (unguessable, so ids cannot be enumerated)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class ChatMessage:
    """A chat line after moderation: `text` is what viewers see, `original` what was typed."""

    id: str
    room: str
    seq: int
    user: str
    original: str
    text: str
    ts: float
    toxic: bool = False
    score: float = 0.0
    action: str = "allow"
    scores: Mapping[str, float] = field(default_factory=dict)
    triggers: tuple[str, ...] = ()
    policy_version: int = 0
    reason: str = ""
    why: Mapping[str, Any] = field(default_factory=dict)  # `Why.as_dict()`: moderators only
    shadow_action: str | None = None  # what the room's shadow policy would have done
    shadow_id: int | None = None  # which shadow attachment decided it

    @property
    def status(self) -> MessageStatus:
        if self.action in (Action.ALLOW, Action.MASK, "unscored"):
            return MessageStatus.VISIBLE
        return MessageStatus.HELD if self.action == Action.HOLD else MessageStatus.BLOCKED

    def to_row(self) -> MessageRow:
        return MessageRow(
            id=self.id,
            room=self.room,
            seq=self.seq,
            username=self.user,
            text=self.original,
            ts=self.ts,
            toxic=self.toxic,
            score=self.score,
            scores=dict(self.scores),
            action=self.action,
            delivered_text=self.text if self.text != self.original else None,
            triggers=self.triggers,
            policy_version=self.policy_version,
            status=self.status,
            why=dict(self.why) or None,
            shadow_action=self.shadow_action,
            shadow_id=self.shadow_id,
        )

    @classmethod
    def from_record(cls, record: MessageRecord | MessageRow) -> ChatMessage:
        return cls(
            id=record.id,
            room=record.room,
            seq=record.seq,
            user=record.username,
            original=record.text,
            text=record.delivered_text or record.text,
            ts=record.ts,
            toxic=record.toxic,
            score=record.score,
            action=record.action,
            scores=dict(record.scores),
            triggers=tuple(record.triggers),
            policy_version=record.policy_version,
            why=dict(record.why or {}),
            shadow_action=record.shadow_action,
            shadow_id=record.shadow_id,
        )


def chat_frame(message: ChatMessage) -> dict[str, Any]:
    """The `chat` frame every viewer of the room receives."""
    return {
        "type": "chat",
        "id": message.id,
        "user": message.user,
        "message": message.text,
        "toxic": message.toxic,
        "score": round(message.score, 4),
        "ts": iso_time(message.ts),
        "room": message.room,
        "seq": message.seq,
        "action": message.action,
        "scores": {name: round(value, 4) for name, value in message.scores.items()},
        "policy_version": message.policy_version,
    }


def moderation_frame(kind: str, message: ChatMessage) -> dict[str, Any]:
    """`held` / `blocked` for the author (and moderators): their message was not delivered."""
    frame = chat_frame(message)
    frame["type"] = kind
    frame["message"] = message.original
    frame["reason"] = message.reason
    return frame


def moderator_view(frame: Mapping[str, Any], message: ChatMessage) -> dict[str, Any]:
    """`frame` (a chat or held/blocked frame) with what moderators see: the message's
    status, its text as sent, why it was decided so and, with a shadow policy attached,
    the shadow's action."""
    view = {**frame, "status": message.status, "why": dict(message.why)}
    view["original"] = message.original
    if message.shadow_id is not None:
        view["shadow"] = {
            "id": message.shadow_id,
            "action": message.shadow_action,
            "agrees": agrees(message.action, message.shadow_action),
        }
    return view


def agrees(active: str, shadow: str | None) -> bool:
    """Whether two decisions are the same for viewers' purposes ("unscored" is allow)."""
    return _plain(active) == _plain(shadow or "")


def _plain(action: str) -> str:
    return "allow" if action == "unscored" else action


def gift_frame(*, room: str, sender: str, gift_id: int, amount: int, ts: float) -> dict[str, Any]:
    """The original `gift` frame: `from`, `gift_id`, `amount`, `ts` (plus `room`)."""
    return {
        "type": "gift",
        "from": sender,
        "gift_id": gift_id,
        "amount": amount,
        "ts": iso_time(ts),
        "room": room,
    }


def history_frame(
    room: str, messages: Sequence[ChatMessage], *, seq: int, recovered: bool | None
) -> dict[str, Any]:
    """Sent on join: recent messages, or with `?since=` what was missed.

    `recovered` is None without `since`, True when every missed message is included,
    False when the room's buffer no longer reaches back that far (the client then has
    the latest messages instead and should say so).
    """
    return {
        "type": "history",
        "room": room,
        "seq": seq,
        "recovered": recovered,
        "messages": [chat_frame(message) for message in messages],
    }


def presence_frame(room: str, viewers: int, node_viewers: int) -> dict[str, Any]:
    return {"type": "presence", "room": room, "viewers": viewers, "viewer_count": node_viewers}


def notice_frame(room: str, kind: str, **fields: Any) -> dict[str, Any]:
    """A moderation or system notice (`deleted`, `timeout`, `system`, ...)."""
    return {"type": kind, "room": room, **fields}

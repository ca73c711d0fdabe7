"""The messages a Room actor accepts (frozen dataclasses, validated on creation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safestream.accounts.auth import Role
from safestream.chat.frames import ChatMessage
from safestream.chat.outbox import Outbox
from safestream.moderation.policy import RoomPolicy

__all__ = [
    "Broadcast",
    "CloseUser",
    "DeleteMessage",
    "DeliverApproved",
    "Join",
    "Leave",
    "Member",
    "Post",
    "RoomInfo",
    "SetPolicy",
]


@dataclass(frozen=True)
class Member:
    """A connection in a room, as the room sees it."""

    conn_id: int
    user: str
    role: str
    outbox: Outbox
    batched: bool = False  # gets one array frame per tick (chat/tick.py)


@dataclass(frozen=True)
class Join:
    """Ask: add a connection; the room offers history and presence to its outbox."""

    conn_id: int
    user: str
    role: str
    outbox: Outbox
    since: int | None = None
    batched: bool = False  # the client asked for one array frame per tick

    def __post_init__(self) -> None:
        Role(self.role)  # ValueError for an unknown role
        if self.since is not None and self.since < 0:
            raise ValueError("since must be >= 0")


@dataclass(frozen=True)
class Leave:
    conn_id: int


@dataclass(frozen=True)
class Post:
    """Tell: a member typed a chat line (already length-checked by the protocol)."""

    conn_id: int
    user: str
    role: str
    text: str

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("empty post")


@dataclass(frozen=True)
class Broadcast:
    """Tell: send a server frame (gift, notice) to every member. An `optional` frame (a
    gift's animation) is shed for viewers that are behind instead of adding to their
    backlog."""

    frame: dict[str, Any]
    optional: bool = False

    def __post_init__(self) -> None:
        if "type" not in self.frame:
            raise ValueError("a frame needs a type")


@dataclass(frozen=True)
class CloseUser:
    """Ask: close every connection of `user` in this room (kick, ban); returns how many."""

    user: str
    code: int
    reason: str


@dataclass(frozen=True)
class DeleteMessage:
    """Ask: remove a message from history and tell viewers to remove it."""

    message_id: str
    by: str


@dataclass(frozen=True)
class DeliverApproved:
    """Tell: a held message was approved by a moderator; deliver it now."""

    message: ChatMessage


@dataclass(frozen=True)
class SetPolicy:
    """Tell: replace the room's moderation policy (already stored)."""

    policy: RoomPolicy


@dataclass(frozen=True)
class RoomInfo:
    """Ask: the room's introspection dict."""

"""What the API answers: one model per JSON answer, as documented in `/openapi.json`.

Routes return these models (Quart-Schema serialises them in JSON mode: datetimes as ISO
8601). Documents built elsewhere and passed through as they are (metrics, the actor
tree, chat frames, a policy) are described here with their known fields, extra ones
allowed, so the document says what a client can rely on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import ConfigDict, Field

from safestream.accounts.auth import Role
from safestream.web.models.base import Response
from safestream.web.models.requests import PolicyUpdate

__all__ = [
    "AdminMessage",
    "AuditEntry",
    "AuditLog",
    "BanResult",
    "ChatFrame",
    "CrashResult",
    "GiftFrame",
    "Health",
    "HeldList",
    "History",
    "KickResult",
    "MessageList",
    "MessageStatus",
    "Metrics",
    "MuteResult",
    "Policy",
    "Registered",
    "RoomInfo",
    "RoomList",
    "Status",
    "Token",
    "TopGifter",
    "TopGifters",
    "User",
    "UserStatus",
]

RoleName = Literal["viewer", "moderator", "admin"]
assert set(get_args(RoleName)) == {role.value for role in Role}


class Passthrough(Response):
    """A document built elsewhere: the fields listed are promised, others may be added."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Token(Response):
    """A bearer token for `Authorization: Bearer <jwt>`."""

    access_token: str = Field(description="a JWT for the Authorization: Bearer header")
    token_type: Literal["bearer"] = "bearer"
    username: str
    role: RoleName
    expires_in: int = Field(ge=1, description="seconds")


class User(Response):
    """A user account."""

    id: int
    username: str
    email: str | None
    role: RoleName
    created_at: datetime
    banned_until: datetime | None


class Registered(Token):
    """The new account, logged in: the token as the original answered, and the user."""

    id: int
    email: str | None
    created_at: datetime


class Health(Response):
    """`ok` while the actor tree runs; else its status, e.g. starting."""

    status: str


class Metrics(Passthrough):
    """The original's viewer_count, gift_count and toxic_pct, and more counters."""

    viewer_count: int = Field(ge=0)
    gift_count: int = Field(ge=0)
    toxic_pct: float = Field(ge=0, le=100)


class RoomInfo(Response):
    name: str
    viewers: int = Field(ge=0)
    seq: int = Field(ge=0)


class RoomList(Response):
    """The rooms running on this node."""

    rooms: list[RoomInfo]


class ChatFrame(Passthrough):
    """A delivered chat message, as viewers receive it."""

    type: Literal["chat"]
    id: str = Field(description="32 hex characters")
    user: str
    message: str = Field(description="masked where action is mask")
    toxic: bool
    score: float = Field(ge=0, le=1, description="toxicity probability")
    ts: str = Field(description="ISO 8601 UTC")
    room: str
    seq: int = Field(ge=0)


class History(Response):
    """A room's stored messages, oldest first."""

    room: str
    messages: list[ChatFrame]


class AdminMessage(ChatFrame):
    """A message with what moderators see: its status, original text and triggers, why it
    was decided so, and what the room's shadow policy would have done."""

    status: str = Field(description="visible, held, blocked, deleted, rejected")
    original: str = Field(description="the text as sent")
    triggers: list[str]
    why: dict[str, Any] | None = Field(
        None,
        description="rule (with its text and policy version), scores, flagged, "
        "blocked_terms, drivers, drivers_by (see docs/moderation.md)",
    )
    shadow: dict[str, Any] | None = Field(
        None, description="id, action and agrees, when a shadow policy decided it too"
    )


class HeldList(Response):
    """The hold queue, oldest first."""

    held: list[AdminMessage]


class MessageList(Response):
    """Recent messages, newest first."""

    messages: list[AdminMessage]


class GiftFrame(Passthrough):
    """The gift frame as broadcast to the room (the original's, plus `room`)."""

    type: Literal["gift"]
    sender: str = Field(alias="from")
    gift_id: int
    amount: int
    ts: str
    room: str


class TopGifter(Response):
    user: str
    amount: int = Field(ge=1)


class TopGifters(Response):
    """The biggest gifters, largest total first."""

    top: list[TopGifter]


class Status(Response):
    """Done."""

    status: str


class UserStatus(Status):
    """Done, to this user."""

    username: str


class KickResult(UserStatus):
    """Kicked: the user's sockets were closed with 4000."""

    status: Literal["kicked"] = "kicked"
    connections: int = Field(ge=0, description="sockets closed")


class MuteResult(UserStatus):
    """Muted until `until` (epoch seconds)."""

    status: Literal["muted"] = "muted"
    until: float = Field(description="epoch seconds")


class BanResult(UserStatus):
    """Banned until `until` (null: for ever); sockets closed with 4003."""

    status: Literal["banned"] = "banned"
    until: datetime | None
    connections: int = Field(ge=0, description="sockets closed")


class MessageStatus(Status):
    """The message's new status: deleted, approved or rejected."""

    id: str


class CrashResult(Status):
    """The crash was sent."""

    path: str


class ModelFaultResult(Status):
    """The model fails (or works again)."""

    seconds: float


class AuditEntry(Response):
    id: int
    actor: str
    action: str = Field(description="kick, mute, unmute, ban, unban, policy, delete, ...")
    target: str | None
    room: str | None
    reason: str | None
    duration_secs: float | None
    detail: dict[str, Any] | None
    created_at: datetime


class AuditLog(Response):
    """Who did what to whom, when and why; newest first."""

    actions: list[AuditEntry]


class Policy(PolicyUpdate):
    """A room's moderation policy with its stored version."""

    version: int | None = Field(None, ge=1, description="stored version")

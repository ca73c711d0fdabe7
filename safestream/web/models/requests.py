"""What clients send: one model per JSON body and per query string.

Bounds live here once; the OpenAPI document shows them. Field names keep the original
SafeStream's (`username`, `gift_id`, `amount`); the aliases the routes always accepted
(`user` for `username`, `duration` for `duration_secs`, `minutes`) still work.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AliasChoices, Field, JsonValue, field_validator, model_validator

from safestream.chat.gifts import GIFT_CATALOGUE, MAX_AMOUNT
from safestream.moderation.faults import MAX_FAULT_SECS
from safestream.store.records import LABEL_CATEGORIES
from safestream.web.models.base import (
    MAX_REASON,
    Body,
    Email,
    Query,
    Reason,
    RoomName,
    Text,
    Username,
)

MAX_LABEL_TEXT = 2000

__all__ = [
    "DEFAULT_MUTE_SECS",
    "MAX_SANCTION_SECS",
    "AuditQuery",
    "BanRequest",
    "Band",
    "CrashRequest",
    "GiftRequest",
    "HeldQuery",
    "HistoryQuery",
    "LabelRequest",
    "LabelsQuery",
    "LoginRequest",
    "MessagesQuery",
    "ModelFaultRequest",
    "MuteRequest",
    "PolicyUpdate",
    "ReasonRequest",
    "RegisterRequest",
    "StreamQuery",
    "TargetRequest",
    "TextLabelRequest",
    "TopQuery",
]

DEFAULT_MUTE_SECS = 300.0  # the original's five minutes
MAX_SANCTION_SECS = 365 * 24 * 3600.0
MAX_PASSWORD_CHARS = 1024  # bcrypt's 72-byte limit is checked (and explained) by accounts
ActionName = Literal["allow", "mask", "hold", "timeout", "block"]
Seconds = Annotated[float, Field(ge=1, le=MAX_SANCTION_SECS)]


# -- auth --------------------------------------------------------------------------------


class RegisterRequest(Body):
    """A new viewer account."""

    username: Username = Field(
        description="letters, digits, '_', '.', '-'; not starting with '.' or '-'"
    )
    password: Annotated[Text, Field(max_length=MAX_PASSWORD_CHARS)] = Field(
        description="at least MIN_PASSWORD_LENGTH characters and at most 72 bytes in UTF-8"
    )
    email: Email = None


class LoginRequest(Body):
    """The OAuth2 password form (as the original) or the same fields as JSON."""

    username: Username
    password: Annotated[Text, Field(max_length=MAX_PASSWORD_CHARS)]


# -- gifts -------------------------------------------------------------------------------


class GiftRequest(Body):
    """A gift from the logged-in user (the sender is always the account; `from` is ignored)."""

    gift_id: int = Field(
        description=", ".join(f"{k}: {v}" for k, v in sorted(GIFT_CATALOGUE.items())),
        json_schema_extra={"enum": list[JsonValue](sorted(GIFT_CATALOGUE))},
    )
    amount: int = Field(1, ge=1, le=MAX_AMOUNT)
    room: RoomName = "main"

    @field_validator("gift_id")
    @classmethod
    def _known_gift(cls, value: int) -> int:
        if value not in GIFT_CATALOGUE:
            raise ValueError(f"must be one of {sorted(GIFT_CATALOGUE)}")
        return value


# -- moderation --------------------------------------------------------------------------


class TargetRequest(Body):
    """The user acted on (`user` is accepted as an alias of `username`), and why."""

    username: Username = Field(validation_alias=AliasChoices("username", "user"))
    reason: Reason = ""


class MuteRequest(TargetRequest):
    """A mute: `duration_secs` (alias `duration`) or `minutes`; five minutes by default."""

    duration_secs: Seconds | None = Field(
        None, validation_alias=AliasChoices("duration_secs", "duration")
    )
    minutes: Annotated[float, Field(gt=0, le=MAX_SANCTION_SECS / 60)] | None = None
    message_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(
        None,
        description="the message that earned the time-out: stored as a 'toxic' label for "
        "the model when the model had let it through",
    )

    @property
    def seconds(self) -> float:
        if self.duration_secs is not None:
            return self.duration_secs
        if self.minutes is not None:
            return max(1.0, self.minutes * 60)
        return DEFAULT_MUTE_SECS


class BanRequest(TargetRequest):
    """A ban for `duration_secs`, or for ever without it."""

    duration_secs: Seconds | None = Field(
        None, validation_alias=AliasChoices("duration_secs", "duration")
    )


class ReasonRequest(Body):
    """An optional reason (the body itself is optional)."""

    reason: Reason = ""


class CrashRequest(Body):
    """The actor to crash, by path."""

    path: Annotated[Text, Field(pattern=r"^/", max_length=MAX_REASON)] = Field(
        description="an actor path", examples=["/safestream/gifts"]
    )


class ModelFaultRequest(Body):
    """How long every model call fails (0 ends a fault early)."""

    seconds: Annotated[float, Field(ge=0, le=MAX_FAULT_SECS, allow_inf_nan=False)] = Field(
        description="seconds of failing model calls", examples=[10]
    )


class LabelRequest(Body):
    """A moderator's verdict on a message: toxic or not, and in which categories."""

    toxic: bool = Field(description="the message is toxic (true) or not (false)")
    categories: list[str] = Field(
        default_factory=list,
        max_length=8,
        description=f"for a toxic mark: which kinds, of {sorted(LABEL_CATEGORIES)}",
    )

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - LABEL_CATEGORIES)
        if unknown:
            raise ValueError(f"categories must be from {sorted(LABEL_CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _categories_only_when_toxic(self) -> Self:
        if self.categories and not self.toxic:
            raise ValueError("a 'not toxic' mark names no categories")
        return self


class TextLabelRequest(LabelRequest):
    """A verdict on a text that is not a stored message."""

    text: Annotated[Text, Field(min_length=1, max_length=MAX_LABEL_TEXT)]


class Band(Body):
    """When `category`'s score (or any category's, with "any") is >= `min_score`: `action`."""

    category: Annotated[Text, Field(min_length=1, max_length=100)]
    min_score: float = Field(ge=0, le=1)
    action: ActionName


class PolicyUpdate(Body):
    """A room's whole policy; omitted fields take their defaults, `version` is ignored."""

    model_config = Body.model_config | {"extra": "forbid"}

    version: int | None = Field(None, description="ignored: the next version is stored")
    thresholds: dict[Annotated[Text, Field(min_length=1, max_length=100)], float] = Field(
        default_factory=lambda: {"toxicity": 0.6},
        description="category -> score at which a message counts as toxic (0..1)",
        max_length=100,
    )
    bands: list[Band] = Field(
        default_factory=list, max_length=100, description="the most severe match wins"
    )
    blocked_terms: list[Annotated[Text, Field(max_length=100)]] = Field(
        default_factory=list, max_length=1000
    )
    blocked_term_action: ActionName = "mask"
    slow_mode_secs: float = Field(0.0, ge=0, le=3600)
    duplicate_window_secs: float = Field(30.0, ge=0, le=3600)
    max_duplicates: int = Field(
        3, ge=1, le=1000, description="the same text this many times in the window is refused"
    )
    timeout_secs: float = Field(300.0, ge=0, le=MAX_SANCTION_SECS)
    failure_mode: Literal["closed", "open"] = Field(
        "closed", description="closed: hold unscored messages; open: deliver them"
    )

    @model_validator(mode="after")
    def _thresholds_in_range(self) -> Self:
        for category, value in self.thresholds.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold for {category[:40]!r} must be between 0 and 1")
        return self


# -- query strings -----------------------------------------------------------------------


class HistoryQuery(Query):
    limit: int = Field(50, ge=1, le=500, description="how many at most")
    after_seq: int = Field(0, ge=0, le=2**62, description="only after this seq (0: the latest)")


class StreamQuery(Query):
    interval_ms: int = Field(500, ge=100, le=60_000, description="how often to check")


class TopQuery(Query):
    room: RoomName | None = Field(None, description="one room (default: all)")
    limit: int = Field(10, ge=1, le=100, description="how many at most")


class LabelsQuery(Query):
    limit: int = Field(100, ge=1, le=500, description="how many at most")
    before: int | None = Field(None, ge=1, description="only labels older than this id")


class HeldQuery(Query):
    room: RoomName | None = Field(None, description="one room (default: all)")
    limit: int = Field(100, ge=1, le=500, description="how many at most")


class MessagesQuery(Query):
    room: RoomName | None = Field(None, description="one room")
    user: Username | None = Field(None, description="one author")
    toxic_only: Literal["1", "true", "yes", "0", "false", "no"] | None = Field(
        None, description="only messages flagged toxic (1, true or yes)"
    )
    action: ActionName | None = Field(None, description="one action")
    limit: int = Field(100, ge=1, le=1000, description="how many at most")


class AuditQuery(Query):
    limit: int = Field(100, ge=1, le=1000, description="how many at most")
    actor: Username | None = Field(None, description="one moderator")
    target: Username | None = Field(None, description="one user acted on")

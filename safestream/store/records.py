"""Plain records passed in and out of the store.

Callers build ``*Row`` values to write and get ``*Record`` values back; ORM objects
never leave :mod:`safestream.store`. All are frozen, keyword-only dataclasses that
check their values in ``__post_init__``, so a bad value fails where it is made rather
than deep inside a batch commit.

Example::

    row = MessageRow(id=uuid4().hex, room="main", seq=7, username="alice", text="hi",
                     ts=time.time(), toxic=False, score=0.01)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from safestream.accounts.auth import Role
from safestream.moderation.policy import Action

__all__ = [
    "LABEL_SOURCES",
    "MESSAGE_ACTIONS",
    "MESSAGE_STATUSES",
    "NAME_MAX_LENGTH",
    "ROLES",
    "ActionRecord",
    "ActionRow",
    "GiftRow",
    "LabelRecord",
    "LabelRow",
    "MessageRecord",
    "MessageRow",
    "MessageStatus",
    "PolicyVersionRecord",
    "RoomRecord",
    "ShadowRecord",
    "UserRecord",
]


class MessageStatus(enum.StrEnum):
    """Where a stored message stands: shown, waiting for a moderator, or taken away."""

    VISIBLE = "visible"
    HELD = "held"
    REJECTED = "rejected"
    DELETED = "deleted"
    BLOCKED = "blocked"


ROLES = frozenset(Role)
# A policy's actions, plus "unscored": delivered without scores (fail-open).
MESSAGE_ACTIONS = frozenset({*Action, "unscored"})
MESSAGE_STATUSES = frozenset(MessageStatus)
NAME_MAX_LENGTH = 64
"""Column width of usernames and room names (the app's own limit is usually lower)."""
MESSAGE_ID_MAX_LENGTH = 32


def _name(kind: str, value: str, max_length: int = NAME_MAX_LENGTH) -> None:
    if not value or len(value) > max_length:
        raise ValueError(f"{kind} must be 1..{max_length} characters, got {value!r}")


def _member(kind: str, value: str, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{kind} must be one of {sorted(allowed)}, got {value!r}")


def _ts(value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"ts must be finite epoch seconds, got {value!r}")


def _probability(kind: str, value: float) -> None:
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{kind} must be a probability in [0, 1], got {value!r}")


def _aware(kind: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{kind} must be timezone-aware")


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    """A stored user. ``banned_until`` is UTC; ``None`` means not banned."""

    id: int
    username: str
    email: str | None
    password_hash: str
    role: str
    created_at: datetime
    banned_until: datetime | None = None
    ban_reason: str | None = None
    muted_until: datetime | None = None

    def __post_init__(self) -> None:
        _member("role", self.role, ROLES)

    def is_banned(self, now: datetime | None = None) -> bool:
        """Return whether the ban is still running at ``now`` (default: current time)."""
        if self.banned_until is None:
            return False
        return self.banned_until > (now or datetime.now(UTC))


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomRecord:
    """A stored room and its current moderation policy (``None``: app default)."""

    id: int
    name: str
    created_at: datetime
    policy: dict[str, Any] | None
    policy_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRow:
    """One chat message and the moderation decision made about it.

    ``id`` is chosen by the app (at most 32 characters, e.g. ``uuid4().hex``), ``seq``
    is the room's sequence number, ``ts`` the protocol's epoch seconds. ``scores``
    holds a probability per category; ``triggers`` the words that caused a mask or
    hold; ``delivered_text`` the masked text when it differs from ``text``. ``why`` is
    the decision's explanation (``Why.as_dict()``: rule, flagged categories, blocked
    terms, driving words); ``shadow_action`` what the room's shadow policy (attachment
    ``shadow_id``) would have done.
    """

    id: str
    room: str
    seq: int
    username: str
    text: str
    ts: float
    toxic: bool
    score: float
    scores: Mapping[str, float] = field(default_factory=dict)
    action: str = "allow"
    delivered_text: str | None = None
    triggers: Sequence[str] = ()
    policy_version: int = 0
    status: str = MessageStatus.VISIBLE
    why: Mapping[str, Any] | None = None
    shadow_action: str | None = None
    shadow_id: int | None = None

    def __post_init__(self) -> None:
        _name("id", self.id, MESSAGE_ID_MAX_LENGTH)
        _name("room", self.room)
        _name("username", self.username)
        if self.seq < 0:
            raise ValueError(f"seq must be >= 0, got {self.seq}")
        if self.policy_version < 0:
            raise ValueError(f"policy_version must be >= 0, got {self.policy_version}")
        _ts(self.ts)
        _probability("score", self.score)
        for category, value in self.scores.items():
            _probability(f"scores[{category!r}]", value)
        _member("action", self.action, MESSAGE_ACTIONS)
        _member("status", self.status, MESSAGE_STATUSES)
        if isinstance(self.triggers, str):
            raise TypeError("triggers must be a sequence of words, not a string")
        if self.shadow_action is not None:
            _member("shadow_action", self.shadow_action, MESSAGE_ACTIONS)
        # Private copies: a caller mutating its dict/list must not change a queued row.
        _set(self, "scores", dict(self.scores))
        _set(self, "triggers", tuple(self.triggers))
        if self.why is not None:
            _set(self, "why", dict(self.why))


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRecord(MessageRow):
    """A stored message: the row as written (status may have changed since)."""

    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GiftRow:
    """One gift sent in a room."""

    room: str
    from_user: str
    gift_id: int
    amount: int
    ts: float

    def __post_init__(self) -> None:
        _name("room", self.room)
        _name("from_user", self.from_user)
        _ts(self.ts)
        if self.amount < 0:
            raise ValueError(f"amount must be >= 0, got {self.amount}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRow:
    """One entry of the moderation audit log.

    ``action`` is free-form lower-case text such as ``kick``, ``mute``, ``ban``,
    ``unban``, ``delete``, ``approve``, ``reject``, ``reset_metrics`` or ``policy``.
    ``ts`` defaults to now.
    """

    actor: str
    action: str
    target: str | None = None
    room: str | None = None
    reason: str | None = None
    duration_secs: float | None = None
    detail: Mapping[str, Any] | None = None
    ts: float | None = None

    def __post_init__(self) -> None:
        _name("actor", self.actor)
        _name("action", self.action, 32)
        if self.action != self.action.strip().lower():
            raise ValueError(f"action must be lower-case without spaces, got {self.action!r}")
        if self.target is not None:
            _name("target", self.target)
        if self.room is not None:
            _name("room", self.room)
        if self.duration_secs is not None and not (
            math.isfinite(self.duration_secs) and self.duration_secs >= 0
        ):
            raise ValueError(f"duration_secs must be >= 0, got {self.duration_secs!r}")
        if self.ts is not None:
            _ts(self.ts)
        if self.detail is not None:
            _set(self, "detail", dict(self.detail))


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyVersionRecord:
    """One stored version of a room's policy: who saved it, when, and how (``source``:
    ``edit``, ``rollback to v3``, ``promoted shadow #5``, ...)."""

    room: str
    version: int
    policy: dict[str, Any]
    created_at: datetime
    created_by: str | None
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ShadowRecord:
    """A candidate policy attached to a room in shadow mode (``detached_at`` None: it
    is still deciding; else ``outcome`` is ``promoted``, ``dropped`` or ``replaced``)."""

    id: int
    room: str
    policy: dict[str, Any]
    attached_by: str
    attached_at: datetime
    detached_at: datetime | None = None
    detached_by: str | None = None
    outcome: str | None = None

    @property
    def active(self) -> bool:
        return self.detached_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRecord(ActionRow):
    """A stored audit-log entry."""

    id: int
    created_at: datetime


LABEL_SOURCES = frozenset({"approve", "delete", "timeout", "mark"})
"""Which moderator decision a label came from."""
LABEL_CATEGORIES = frozenset(
    {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRow:
    """A moderator's verdict on a text, for training the model.

    ``model_toxic`` / ``model_score`` are what the model said when the message was
    scored (``None`` for a text marked without a stored message). ``categories`` are the
    categories the moderator named (a "toxic" label may name none).
    """

    text: str
    toxic: bool
    source: str
    actor: str
    message_id: str | None = None
    room: str | None = None
    categories: tuple[str, ...] = ()
    model_toxic: bool | None = None
    model_score: float | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a label needs a text")
        _member("source", self.source, LABEL_SOURCES)
        _name("actor", self.actor)
        if self.message_id is not None:
            _name("message_id", self.message_id, MESSAGE_ID_MAX_LENGTH)
        for c in self.categories:
            _member("category", c, LABEL_CATEGORIES)
        if self.categories and not self.toxic:
            raise ValueError("a 'not toxic' label names no categories")
        if self.model_score is not None:
            _probability("model_score", self.model_score)
        _set(self, "categories", tuple(dict.fromkeys(self.categories)))


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRecord(LabelRow):
    """A stored moderator label."""

    id: int
    created_at: datetime

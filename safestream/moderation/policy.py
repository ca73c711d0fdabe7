"""Per-room moderation policy: thresholds per category and an action per band.

A `RoomPolicy` turns a message and its model scores into a `Decision` (deliver, deliver
masked, hold for review, block, or time the author out). It is plain data, versioned, and
JSON round-trippable, so every stored decision names the policy that made it and can be
replayed. The default policy is the original SafeStream's: one `TOXIC_THRESHOLD` on the
toxicity score, message delivered with `toxic: true`.

Example:
    policy = RoomPolicy.default(threshold=0.6)
    decision = policy.decide("you idiot", {"toxicity": 0.9}, triggers=("idiot",))
    assert decision.toxic and decision.action == "allow"
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from safestream.moderation.why import Driver, Rule, Why

__all__ = [
    "ACTIONS",
    "FAILURE_MODES",
    "Action",
    "Band",
    "Decision",
    "FailureMode",
    "PolicyError",
    "RoomPolicy",
    "mask_words",
]


class Action(enum.StrEnum):
    """What a policy does with a message, declared from mildest to most severe: when
    several bands match, the most severe action wins."""

    ALLOW = "allow"
    MASK = "mask"
    HOLD = "hold"
    TIMEOUT = "timeout"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return ACTIONS.index(self)


ACTIONS: tuple[Action, ...] = tuple(Action)
# What happens to a message the model could not score in time: held (closed) or delivered
# (open). Settings' MODERATION_FAILURE_MODE, the API schema and the policy share this type.
FailureMode = Literal["closed", "open"]
FAILURE_MODES: tuple[FailureMode, ...] = get_args(FailureMode)


class PolicyError(ValueError):
    """A policy document is malformed; the message says which field."""


@dataclass(frozen=True)
class Band:
    """When `category`'s score (or any category's, with "any") is >= `min_score`: `action`."""

    category: str
    min_score: float
    action: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise PolicyError(f"band action must be one of {ACTIONS}, not {self.action!r}")
        if not 0.0 <= self.min_score <= 1.0:
            raise PolicyError("band min_score must be between 0 and 1")
        if not self.category:
            raise PolicyError("band category must not be empty")

    def matches(self, scores: Mapping[str, float]) -> bool:
        return self.hit(scores) is not None

    def hit(self, scores: Mapping[str, float]) -> tuple[str, float] | None:
        """The category that matched and its score (for "any": the highest), or None."""
        if self.category == "any":
            if not scores:
                return None
            category, value = max(scores.items(), key=lambda item: item[1])
            return (category, float(value)) if value >= self.min_score else None
        value = scores.get(self.category, 0.0)
        return (self.category, float(value)) if value >= self.min_score else None


@dataclass(frozen=True)
class Decision:
    """What the room does with one message, with everything needed to explain it."""

    action: str
    toxic: bool
    score: float
    text: str  # what viewers see (masked where the action is "mask")
    scores: Mapping[str, float]
    triggers: tuple[str, ...]
    policy_version: int
    reason: str = ""
    rule: Rule | None = None  # structured `reason`: see safestream.moderation.why
    blocked_terms: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()  # categories at or over their toxic threshold
    model_triggers: tuple[str, ...] = ()  # the words the model named (not blocked terms)

    @property
    def visible(self) -> bool:
        """Delivered to the room now (allow or mask)."""
        return self.action in ("allow", "mask")

    def why(self) -> Why:
        """What moderators are shown about this decision."""
        rule = self.rule or Rule(self.action, self.policy_version)
        drivers = tuple(Driver(word) for word in self.model_triggers)
        return Why(
            rule=rule,
            scores=dict(self.scores),
            flagged=self.flagged,
            blocked_terms=self.blocked_terms,
            drivers=drivers,
            by="model" if drivers else "",
        )


@dataclass(frozen=True)
class RoomPolicy:
    """One room's moderation rules (all JSON-able; see `to_dict`/`from_dict`)."""

    version: int = 1
    thresholds: Mapping[str, float] = field(default_factory=lambda: {"toxicity": 0.6})
    bands: tuple[Band, ...] = ()
    blocked_terms: tuple[str, ...] = ()
    blocked_term_action: str = "mask"
    slow_mode_secs: float = 0.0
    duplicate_window_secs: float = 30.0
    max_duplicates: int = 3  # the same text this many times in the window: refused
    timeout_secs: float = 300.0
    failure_mode: FailureMode = "closed"

    def __post_init__(self) -> None:
        if self.version < 1:
            raise PolicyError("version must be >= 1")
        for category, value in self.thresholds.items():
            if not 0.0 <= float(value) <= 1.0:
                raise PolicyError(f"threshold for {category!r} must be between 0 and 1")
        if self.blocked_term_action not in ACTIONS:
            raise PolicyError(f"blocked_term_action must be one of {ACTIONS}")
        if self.failure_mode not in FAILURE_MODES:
            raise PolicyError(f"failure_mode must be one of {FAILURE_MODES}")
        for name in ("slow_mode_secs", "duplicate_window_secs", "timeout_secs"):
            if getattr(self, name) < 0:
                raise PolicyError(f"{name} must not be negative")
        if self.max_duplicates < 1:
            raise PolicyError("max_duplicates must be >= 1")
        if len(self.blocked_terms) > 1000:
            raise PolicyError("at most 1000 blocked terms")

    @classmethod
    def stored_or_default(
        cls,
        stored: Mapping[str, Any] | None,
        version: int,
        *,
        threshold: float,
        failure_mode: FailureMode,
    ) -> RoomPolicy:
        """A room's stored policy document at `version`, or the default policy."""
        if stored:
            return cls.from_dict({**stored, "version": version})
        return cls.default(threshold=threshold, failure_mode=failure_mode)

    @classmethod
    def default(cls, *, threshold: float = 0.6, failure_mode: FailureMode = "closed") -> RoomPolicy:
        """The original behaviour: flag toxicity >= threshold, deliver everything."""
        return cls(thresholds={"toxicity": threshold}, failure_mode=failure_mode)

    def decide(
        self, text: str, scores: Mapping[str, float], triggers: Sequence[str] = ()
    ) -> Decision:
        """Apply the policy to one scored message."""
        flagged = tuple(c for c, limit in self.thresholds.items() if scores.get(c, 0.0) >= limit)
        score = float(scores.get("toxicity", max(scores.values(), default=0.0)))
        blocked = self._blocked_terms_in(text)
        found = tuple(dict.fromkeys(list(triggers) + blocked))
        top = max(scores.items(), key=lambda item: item[1], default=("", 0.0))
        rule = Rule("allow", self.version, "none", top[0], _unit(top[1]))
        reason = ""
        for band in self.bands:
            hit = band.hit(scores)
            if hit is not None and _worse(band.action, rule.action):
                category, value = hit
                rule = Rule(
                    band.action, self.version, "band", category, _unit(value), band.min_score
                )
                reason = f"{band.category} >= {band.min_score}"
        if blocked and _worse(self.blocked_term_action, rule.action):
            rule = Rule(self.blocked_term_action, self.version, "blocked_term", term=blocked[0])
            reason = "blocked term"
        action = rule.action
        shown = _masked(text, found) if action == "mask" else text
        return Decision(
            action,
            bool(flagged),
            score,
            shown,
            dict(scores),
            found,
            self.version,
            reason,
            rule=rule,
            blocked_terms=tuple(blocked),
            flagged=flagged,
            model_triggers=tuple(dict.fromkeys(triggers)),
        )

    def unscored(self, text: str) -> Decision:
        """The decision when the model could not score in time (the failure mode)."""
        action = "hold" if self.failure_mode == "closed" else "allow"
        blocked = self._blocked_terms_in(text)
        rule = Rule(action, self.version, "unscored", failure_mode=self.failure_mode)
        if blocked and _worse(self.blocked_term_action, action):
            action = self.blocked_term_action
            rule = Rule(action, self.version, "blocked_term", term=blocked[0])
        shown = _masked(text, blocked) if action == "mask" else text
        return Decision(
            action,
            False,
            0.0,
            shown,
            {},
            (),
            self.version,
            f"unscored ({self.failure_mode})",
            rule=rule,
            blocked_terms=tuple(blocked),
        )

    def _blocked_terms_in(self, text: str) -> list[str]:
        lowered = text.lower()
        return [
            term
            for term in self.blocked_terms
            if re.search(rf"(?<!\w){re.escape(term.lower())}(?!\w)", lowered)
        ]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["thresholds"] = dict(self.thresholds)
        data["bands"] = [asdict(band) for band in self.bands]
        data["blocked_terms"] = list(self.blocked_terms)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoomPolicy:
        """Build from JSON (e.g. a moderator's edit); unknown keys are refused.

        Raises:
            PolicyError: with a message naming the bad field.
        """
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise PolicyError(f"unknown policy fields: {sorted(unknown)}")
        try:
            values = dict(data)
            if "thresholds" in values:
                values["thresholds"] = {str(k): float(v) for k, v in values["thresholds"].items()}
            if "bands" in values:
                values["bands"] = tuple(Band(**band) for band in values["bands"])
            if "blocked_terms" in values:
                terms = (str(term).strip() for term in values["blocked_terms"])
                values["blocked_terms"] = tuple(term for term in terms if term)
            return cls(**values)
        except PolicyError:
            raise
        except (TypeError, ValueError, AttributeError) as exc:
            raise PolicyError(f"malformed policy: {exc}") from exc


def _worse(candidate: str, current: str) -> bool:
    return Action(candidate).severity > Action(current).severity


def _unit(value: float) -> float:
    """A score clamped into [0, 1] (scores are checked there; a rule must not raise)."""
    number = float(value)
    return min(1.0, max(0.0, number)) if math.isfinite(number) else 0.0


def _masked(text: str, words: Sequence[str]) -> str:
    """Mask the trigger words; with none known (a semantic model), mask every word."""
    masked = mask_words(text, words)
    return masked if masked != text else re.sub(r"\w", "*", text)


def mask_words(text: str, words: Sequence[str]) -> str:
    """Replace each whole-word occurrence of `words` (case-insensitive) by asterisks."""
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
        text = pattern.sub(lambda match: "*" * len(match.group(0)), text)
    return text

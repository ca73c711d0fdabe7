"""Why a decision was taken: the rule that fired, in the policy version that applied.

`RoomPolicy.decide` returns, with each decision, the `Rule` it applied: a band (its
category, the message's score there, the band's minimum and action), a blocked term,
no rule at all (allow), or the failure mode for a message the model could not score.
`Why` adds what a moderator needs beside it: the scores, the categories at or over their
toxic threshold, the blocked terms matched and the words that drove the score, named by
the model (`by="model"`) or found by occlusion (`by="occlusion"`, see
`safestream.moderation.occlusion`). It is plain, JSON round-trippable data: rooms put it
on each decided message, the store keeps it, moderators get it in events and REST.
Viewers never get it (`chat_frame` leaves it out).

Example:
    rule = Rule("hold", 7, kind="band", category="threat", score=0.91, min_score=0.8)
    assert rule.text() == "threat 0.91 ≥ hold 0.80, policy v7"
    Why.from_dict(why.as_dict()) == why
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

__all__ = ["DRIVER_SOURCES", "RULE_KINDS", "Driver", "Rule", "Why"]

RuleKind = Literal["band", "blocked_term", "none", "unscored"]
RULE_KINDS: tuple[RuleKind, ...] = get_args(RuleKind)
# Where the driving words come from: the model named them, occlusion found them, or
# nobody has looked yet ("").
DriverSource = Literal["model", "occlusion", ""]
DRIVER_SOURCES: tuple[DriverSource, ...] = get_args(DriverSource)


@dataclass(frozen=True)
class Rule:
    """The rule that decided a message's action under policy `policy_version`.

    `category` and `score` are the band's matched category and the message's score
    there; for `none` they are the message's highest category and score (context for
    "why was this allowed").
    """

    action: str
    policy_version: int
    kind: RuleKind = "none"
    category: str = ""
    score: float = 0.0
    min_score: float = 0.0
    term: str = ""
    failure_mode: str = ""

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"rule kind must be one of {RULE_KINDS}, not {self.kind!r}")
        if self.policy_version < 0:
            raise ValueError("policy_version must be >= 0")
        for name in ("score", "min_score"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be in [0, 1]")

    def text(self) -> str:
        """One line for people, e.g. "threat 0.91 ≥ hold 0.80, policy v7"."""
        version = f"policy v{self.policy_version}"
        if self.kind == "band":
            return (
                f"{self.category} {self.score:.2f} ≥ {self.action} {self.min_score:.2f}, {version}"
            )
        if self.kind == "blocked_term":
            return f"blocked term {self.term!r} → {self.action}, {version}"
        if self.kind == "unscored":
            return (
                f"not scored in time → {self.action} (failure mode {self.failure_mode}), {version}"
            )
        top = f" (highest {self.category} {self.score:.2f})" if self.category else ""
        return f"no band matched{top} → allow, {version}"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "action": self.action,
            "policy_version": self.policy_version,
            "text": self.text(),
        }
        if self.kind in ("band", "none") and self.category:
            data.update(category=self.category, score=round(self.score, 4))
        if self.kind == "band":
            data["min_score"] = self.min_score
        if self.kind == "blocked_term":
            data["term"] = self.term
        if self.kind == "unscored":
            data["failure_mode"] = self.failure_mode
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """The rule of `as_dict` (`text` is derived, so ignored).

        Raises:
            ValueError: a missing or malformed field.
        """
        try:
            return cls(
                action=str(data["action"]),
                policy_version=int(data["policy_version"]),
                kind=data.get("kind", "none"),
                category=str(data.get("category", "")),
                score=float(data.get("score", 0.0)),
                min_score=float(data.get("min_score", 0.0)),
                term=str(data.get("term", "")),
                failure_mode=str(data.get("failure_mode", "")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed rule: {exc}") from exc


@dataclass(frozen=True)
class Driver:
    """A word that drove the score, and by how much (1.0 when the model named it)."""

    word: str
    weight: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"word": self.word, "weight": round(self.weight, 4)}


@dataclass(frozen=True)
class Why:
    """Everything a moderator is shown about one decision."""

    rule: Rule
    scores: Mapping[str, float] = field(default_factory=dict)
    flagged: tuple[str, ...] = ()
    blocked_terms: tuple[str, ...] = ()
    drivers: tuple[Driver, ...] = ()
    by: DriverSource = ""

    def __post_init__(self) -> None:
        if self.by not in DRIVER_SOURCES:
            raise ValueError(f"drivers source must be one of {DRIVER_SOURCES}")

    @property
    def needs_occlusion(self) -> bool:
        """Nobody has named the driving words yet, and there are scores to explain."""
        return self.by == "" and bool(self.scores) and self.rule.kind != "unscored"

    def with_drivers(self, drivers: Sequence[Driver], by: DriverSource) -> Why:
        return replace(self, drivers=tuple(drivers), by=by)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.as_dict(),
            "text": self.rule.text(),
            "scores": {name: round(value, 4) for name, value in self.scores.items()},
            "flagged": list(self.flagged),
            "blocked_terms": list(self.blocked_terms),
            "drivers": [driver.as_dict() for driver in self.drivers],
            "drivers_by": self.by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Why:
        """The `Why` of `as_dict` (stored JSON).

        Raises:
            ValueError: a missing or malformed field.
        """
        try:
            return cls(
                rule=Rule.from_dict(data["rule"]),
                scores={str(k): float(v) for k, v in dict(data.get("scores") or {}).items()},
                flagged=tuple(str(c) for c in data.get("flagged") or ()),
                blocked_terms=tuple(str(t) for t in data.get("blocked_terms") or ()),
                drivers=tuple(
                    Driver(str(d["word"]), float(d.get("weight", 1.0)))
                    for d in data.get("drivers") or ()
                ),
                by=data.get("drivers_by", ""),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed why: {exc}") from exc

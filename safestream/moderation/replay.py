"""Replay: what a candidate policy would have done with a room's stored messages.

Every stored message keeps its scores per category, the words the model named, the
action taken and the policy version that took it. Replaying a candidate policy is then
a cheap re-decision of each message (`RoomPolicy.decide` on the stored scores), compared
with what actually happened: counts per action before and after, every message whose
action changes (with both decisions and the scores), and the users the candidate would
have timed out. With new scores (a re-score by the model the pool runs now), the
candidate decides on those instead; a message the model failed on gets the candidate's
failure mode.

`Replay` is fed records one by one, in any number of chunks, so a caller can report
progress and stop at a deadline; it keeps no I/O. "unscored" (delivered without scores,
fail-open) counts as "allow", as viewers saw it. What a replay does not model: rules
that refuse a post before moderation (slow mode, duplicates, mutes), so a candidate's
timeouts do not remove the author's later messages from the replay.

Example:
    replay = Replay(candidate)
    for record in records:                 # ascending seq
        replay.add(record)
    replay.counts_after["hold"], [c.as_dict() for c in replay.changes]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safestream.moderation.classifiers import Scores
from safestream.moderation.policy import ACTIONS, RoomPolicy
from safestream.store.records import MessageRecord

__all__ = ["Change", "Outcome", "Replay", "plain_action"]


def plain_action(action: str) -> str:
    """An action as viewers experienced it: "unscored" was delivered, so "allow"."""
    return "allow" if action == "unscored" else action


@dataclass(frozen=True)
class Outcome:
    """One decision on one message: its action and the rule, as a moderator reads it."""

    action: str
    rule: str
    policy_version: int

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "rule": self.rule, "policy_version": self.policy_version}


@dataclass(frozen=True)
class Change:
    """A message the candidate would have treated differently."""

    id: str
    seq: int
    ts: float
    user: str
    text: str
    scores: Mapping[str, float]
    before: Outcome
    after: Outcome
    rescored: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "scores": {name: round(value, 4) for name, value in self.scores.items()},
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "rescored": self.rescored,
        }


@dataclass
class Replay:
    """The running comparison of `policy` with what happened, message by message."""

    policy: RoomPolicy
    counts_before: Counter[str] = field(default_factory=Counter)
    counts_after: Counter[str] = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)
    timeouts_before: Counter[str] = field(default_factory=Counter)
    timeouts_after: Counter[str] = field(default_factory=Counter)
    scanned: int = 0
    unscored: int = 0
    first_ts: float | None = None
    last_ts: float | None = None

    def add(self, record: MessageRecord, rescored: Scores | None = None) -> Change | None:
        """Decide `record` with the candidate (on `rescored` scores when given) and count
        both decisions; the change when the action differs, else None."""
        before = _stored_outcome(record)
        after = self._decide(record, rescored)
        self.scanned += 1
        self.first_ts = record.ts if self.first_ts is None else min(self.first_ts, record.ts)
        self.last_ts = record.ts if self.last_ts is None else max(self.last_ts, record.ts)
        self.counts_before[before.action] += 1
        self.counts_after[after.action] += 1
        if before.action == "timeout":
            self.timeouts_before[record.username] += 1
        if after.action == "timeout":
            self.timeouts_after[record.username] += 1
        if before.action == after.action:
            return None
        scores = rescored.values if rescored is not None else record.scores
        change = Change(
            id=record.id,
            seq=record.seq,
            ts=record.ts,
            user=record.username,
            text=record.text,
            scores=dict(scores),
            before=before,
            after=after,
            rescored=rescored is not None,
        )
        self.changes.append(change)
        return change

    def _decide(self, record: MessageRecord, rescored: Scores | None) -> Outcome:
        policy = self.policy
        if rescored is not None:
            decision = policy.decide(record.text, rescored.values, rescored.triggers)
        elif record.scores:
            decision = policy.decide(record.text, record.scores, record.triggers)
        else:  # stored unscored: nothing to re-decide on, the failure mode applies
            self.unscored += 1
            decision = policy.unscored(record.text)
        rule = decision.rule.text() if decision.rule is not None else decision.reason
        return Outcome(plain_action(decision.action), rule, policy.version)

    def summary(self) -> dict[str, Any]:
        """Counts per action before/after (every action listed), totals and timeouts."""
        return {
            "scanned": self.scanned,
            "changed": len(self.changes),
            "unscored": self.unscored,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "before": {action.value: self.counts_before[action] for action in ACTIONS},
            "after": {action.value: self.counts_after[action] for action in ACTIONS},
            "timed_out_before": sorted(self.timeouts_before),
            "timed_out_after": sorted(self.timeouts_after),
            "newly_timed_out": sorted(set(self.timeouts_after) - set(self.timeouts_before)),
        }


def _stored_outcome(record: MessageRecord) -> Outcome:
    why = record.why or {}
    rule = why.get("text") if isinstance(why, Mapping) else None
    action = plain_action(record.action)
    if not isinstance(rule, str) or not rule:
        rule = f"{action}, policy v{record.policy_version}"
    return Outcome(action, rule, record.policy_version)

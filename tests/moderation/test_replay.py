"""Replay on a seeded history: known scores and actions in, a known difference out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from safestream.moderation.classifiers import KeywordClassifier
from safestream.moderation.policy import Band, RoomPolicy
from safestream.moderation.replay import Replay
from safestream.store.records import MessageRecord

T0 = 1_700_000_000.0


def record(seq: int, user: str, text: str, scores: dict[str, float], **kw: Any) -> MessageRecord:
    values: dict[str, Any] = {
        "id": f"m{seq}",
        "room": "main",
        "seq": seq,
        "username": user,
        "text": text,
        "ts": T0 + seq,
        "toxic": False,
        "score": scores.get("toxicity", 0.0),
        "scores": scores,
        "action": "allow",
        "policy_version": 1,
        "created_at": datetime.fromtimestamp(T0 + seq, UTC),
    }
    values.update(kw)
    return MessageRecord(**values)


HISTORY = [
    record(1, "alice", "hello", {"toxicity": 0.05, "threat": 0.0}),
    record(2, "bob", "you idiot", {"toxicity": 0.8, "insult": 0.85}),
    record(3, "carol", "i will hurt you", {"toxicity": 0.5, "threat": 0.91}),
    record(4, "bob", "trash", {"toxicity": 0.5}),
    record(5, "dave", "are you there", {}, action="unscored"),
    record(
        6,
        "erin",
        "idiot idiot",
        {"toxicity": 0.8},
        action="hold",
        status="held",
        policy_version=2,
        why={"text": "toxicity 0.80 ≥ hold 0.60, policy v2"},
    ),
]
CANDIDATE = RoomPolicy(
    version=3,
    bands=(Band("toxicity", 0.7, "hold"), Band("threat", 0.9, "timeout")),
    failure_mode="open",
)


def replayed(policy: RoomPolicy = CANDIDATE) -> Replay:
    replay = Replay(policy)
    for message in HISTORY:
        replay.add(message)
    return replay


def test_replay_counts_every_action_before_and_after() -> None:
    summary = replayed().summary()
    assert summary["scanned"] == 6 and summary["changed"] == 2 and summary["unscored"] == 1
    assert summary["before"] == {"allow": 5, "mask": 0, "hold": 1, "timeout": 0, "block": 0}
    assert summary["after"] == {"allow": 3, "mask": 0, "hold": 2, "timeout": 1, "block": 0}
    assert (summary["first_ts"], summary["last_ts"]) == (T0 + 1, T0 + 6)


def test_replay_lists_the_changed_messages_with_both_decisions() -> None:
    changes = [c.as_dict() for c in replayed().changes]
    assert [(c["seq"], c["before"]["action"], c["after"]["action"]) for c in changes] == [
        (2, "allow", "hold"),
        (3, "allow", "timeout"),
    ]
    assert changes[1]["after"]["rule"] == "threat 0.91 ≥ timeout 0.90, policy v3"
    assert changes[1]["before"]["rule"] == "allow, policy v1"
    assert changes[1]["scores"] == {"toxicity": 0.5, "threat": 0.91}
    assert changes[0]["user"] == "bob" and changes[0]["text"] == "you idiot"


def test_replay_names_the_users_the_candidate_would_time_out() -> None:
    summary = replayed().summary()
    assert summary["timed_out_before"] == []
    assert summary["timed_out_after"] == summary["newly_timed_out"] == ["carol"]


def test_replaying_the_policy_that_decided_changes_nothing() -> None:
    summary = replayed(RoomPolicy(version=1, failure_mode="open")).summary()
    assert summary["changed"] == 1  # only erin's, held by v2, which v1 would have allowed
    assert summary["after"]["allow"] == 6


def test_a_stored_rule_is_shown_as_the_before_decision() -> None:
    relaxed = replayed(RoomPolicy(version=4, failure_mode="open"))
    [change] = [c for c in relaxed.changes if c.seq == 6]
    assert change.before.rule == "toxicity 0.80 ≥ hold 0.60, policy v2"
    assert (change.before.policy_version, change.after.action) == (2, "allow")


def test_rescored_messages_are_decided_on_their_new_scores() -> None:
    model = KeywordClassifier()
    replay = Replay(CANDIDATE)
    for message, scores in zip(HISTORY, model.predict([m.text for m in HISTORY]), strict=True):
        replay.add(message, scores)
    # The keyword list knows "idiot" (0.8 toxicity) and "trash" (0.5), not "hurt".
    changed = {c.seq: (c.after.action, c.rescored) for c in replay.changes}
    assert changed == {2: ("hold", True)}
    assert replay.unscored == 0  # re-scored: the unscored message has scores now

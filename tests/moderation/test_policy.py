"""Room policy: thresholds, bands, masking, blocked terms, failure modes, JSON."""

from __future__ import annotations

import json

import pytest

from safestream.moderation.policy import Band, PolicyError, RoomPolicy, mask_words

TOXIC = {"toxicity": 0.9, "insult": 0.8, "threat": 0.1}
CLEAN = {"toxicity": 0.1, "insult": 0.0, "threat": 0.0}


def test_default_policy_keeps_the_original_behaviour() -> None:
    policy = RoomPolicy.default(threshold=0.6)
    decision = policy.decide("you idiot", TOXIC, ("idiot",))
    assert (decision.action, decision.toxic, decision.score) == ("allow", True, 0.9)
    assert decision.text == "you idiot"
    assert decision.policy_version == 1


def test_threshold_edge_is_inclusive() -> None:
    policy = RoomPolicy.default(threshold=0.6)
    assert policy.decide("x", {"toxicity": 0.6}).toxic
    assert not policy.decide("x", {"toxicity": 0.5999}).toxic


def test_most_severe_matching_band_wins() -> None:
    policy = RoomPolicy(
        bands=(
            Band("toxicity", 0.5, "mask"),
            Band("toxicity", 0.8, "hold"),
            Band("threat", 0.5, "block"),
        )
    )
    assert policy.decide("you idiot", TOXIC, ("idiot",)).action == "hold"
    assert policy.decide("x", {**TOXIC, "threat": 0.7}).action == "block"
    assert policy.decide("x", CLEAN).action == "allow"


def test_any_band_matches_every_category() -> None:
    policy = RoomPolicy(bands=(Band("any", 0.75, "timeout"),))
    assert policy.decide("x", {"toxicity": 0.1, "insult": 0.75}).action == "timeout"


def test_mask_hides_triggers_or_every_word_when_unknown() -> None:
    policy = RoomPolicy(bands=(Band("toxicity", 0.5, "mask"),))
    assert policy.decide("you Idiot!", TOXIC, ("idiot",)).text == "you *****!"
    assert policy.decide("go away now", TOXIC).text == "** **** ***"


def test_blocked_terms_match_whole_words_case_insensitively() -> None:
    policy = RoomPolicy(blocked_terms=("spoiler",), blocked_term_action="block")
    assert policy.decide("SPOILER: he dies", CLEAN).action == "block"
    assert policy.decide("spoilers are fine", CLEAN).action == "allow"


def test_unscored_follows_failure_mode() -> None:
    assert RoomPolicy(failure_mode="closed").unscored("hi").action == "hold"
    assert RoomPolicy(failure_mode="open").unscored("hi").action == "allow"
    assert RoomPolicy(failure_mode="open", blocked_terms=("x",)).unscored("x").text == "*"


def test_policy_survives_a_json_roundtrip() -> None:
    policy = RoomPolicy(
        version=3,
        thresholds={"toxicity": 0.7, "threat": 0.4},
        bands=(Band("threat", 0.4, "hold"),),
        blocked_terms=("a", "b"),
        slow_mode_secs=5,
    )
    assert RoomPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


@pytest.mark.parametrize(
    "bad",
    [
        {"thresholds": {"toxicity": 1.5}},
        {"bands": [{"category": "toxicity", "min_score": 0.5, "action": "explode"}]},
        {"bands": [{"category": "", "min_score": 0.5, "action": "hold"}]},
        {"failure_mode": "maybe"},
        {"slow_mode_secs": -1},
        {"max_duplicates": 0},
        {"unknown": 1},
        {"bands": "nope"},
    ],
)
def test_malformed_policies_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        RoomPolicy.from_dict(bad)


def test_mask_words_prefers_longer_words() -> None:
    assert mask_words("bad badword", ["bad", "badword"]) == "*** *******"

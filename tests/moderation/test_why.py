"""Every decision names its rule, in the policy version that applied, and round-trips."""

from __future__ import annotations

import json

import pytest

from safestream.moderation.policy import Band, RoomPolicy
from safestream.moderation.why import Driver, Rule, Why

SCORES = {"toxicity": 0.5, "threat": 0.91, "insult": 0.2}


def test_a_band_rule_reads_as_score_then_band_then_version() -> None:
    policy = RoomPolicy(version=7, bands=(Band("threat", 0.8, "hold"),))
    decision = policy.decide("i will find you", SCORES)
    assert decision.rule == Rule("hold", 7, "band", "threat", 0.91, 0.8)
    assert decision.rule.text() == "threat 0.91 ≥ hold 0.80, policy v7"
    assert decision.reason == "threat >= 0.8"  # the author's notice keeps its short form


def test_the_most_severe_band_is_the_rule_and_any_names_the_category_that_matched() -> None:
    policy = RoomPolicy(
        version=3, bands=(Band("toxicity", 0.4, "mask"), Band("any", 0.9, "timeout"))
    )
    rule = policy.decide("x", SCORES).rule
    assert rule is not None
    assert (rule.kind, rule.action, rule.category, rule.score) == (
        "band",
        "timeout",
        "threat",
        0.91,
    )


def test_a_blocked_term_beats_a_milder_band_and_is_named() -> None:
    policy = RoomPolicy(
        version=2,
        bands=(Band("toxicity", 0.4, "mask"),),
        blocked_terms=("spoiler",),
        blocked_term_action="block",
    )
    decision = policy.decide("SPOILER ahead", SCORES, ("ahead",))
    assert decision.rule is not None
    assert decision.rule.text() == "blocked term 'spoiler' → block, policy v2"
    why = decision.why()
    assert why.blocked_terms == ("spoiler",)
    assert why.drivers == (Driver("ahead"),) and why.by == "model"


def test_no_band_names_the_highest_score_and_the_flagged_categories() -> None:
    policy = RoomPolicy(version=4, thresholds={"toxicity": 0.5, "threat": 0.95})
    decision = policy.decide("x", SCORES)
    assert decision.action == "allow" and decision.toxic
    assert decision.rule is not None
    assert decision.rule.text() == "no band matched (highest threat 0.91) → allow, policy v4"
    why = decision.why()
    assert why.flagged == ("toxicity",)
    assert why.by == "" and why.needs_occlusion  # the model named no words


def test_unscored_names_the_failure_mode() -> None:
    decision = RoomPolicy(version=5, failure_mode="closed").unscored("hi")
    assert decision.rule is not None
    assert decision.rule.text() == "not scored in time → hold (failure mode closed), policy v5"
    assert decision.reason == "unscored (closed)"
    assert not decision.why().needs_occlusion


def test_why_survives_a_json_roundtrip() -> None:
    policy = RoomPolicy(version=9, bands=(Band("threat", 0.8, "hold"),), blocked_terms=("x",))
    why = policy.decide("x marks it", SCORES, ("marks",)).why()
    why = why.with_drivers((Driver("marks", 0.4),), "occlusion")
    document = json.loads(json.dumps(why.as_dict()))
    assert document["text"] == "threat 0.91 ≥ hold 0.80, policy v9"
    assert Why.from_dict(document) == why


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"rule": {"action": "hold"}},
        {"rule": {"action": "hold", "policy_version": 1, "kind": "?"}},
    ],
)
def test_a_malformed_why_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Why.from_dict(bad)

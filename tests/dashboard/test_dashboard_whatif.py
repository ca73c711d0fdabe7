"""The what-if views' pure layer: replay results, shadow status, history and the why."""

from __future__ import annotations

from typing import Any

from dashboard.frames import messages_frame, with_why
from dashboard.whatif import (
    disagreements_frame,
    replay_changes,
    replay_counts,
    replay_summary,
    shadow_summary,
    versions_frame,
    why_html,
    why_text,
)

RESULT: dict[str, Any] = {
    "scanned": 12,
    "changed": 1,
    "complete": True,
    "window": {"messages": 12, "truncated": False},
    "before": {"allow": 12},
    "after": {"allow": 11, "hold": 1},
    "newly_timed_out": ["<b>eve</b>"],
    "changes": [
        {
            "seq": 4,
            "ts": 0.0,
            "user": "bob",
            "text": "you idiot",
            "before": {"action": "allow", "rule": "allow, policy v1"},
            "after": {"action": "hold", "rule": "toxicity 0.80 ≥ hold 0.70, policy v2"},
        }
    ],
}
WHY: dict[str, Any] = {
    "text": "insult 0.85 ≥ hold 0.60, policy v2",
    "rule": {"text": "insult 0.85 ≥ hold 0.60, policy v2"},
    "scores": {"toxicity": 0.8, "insult": 0.85, "threat": 0.0},
    "flagged": ["toxicity"],
    "blocked_terms": ["spoiler"],
    "drivers": [{"word": "idiot", "weight": 0.85}],
    "drivers_by": "occlusion",
}


def test_replay_counts_list_every_action_and_changes_keep_both_decisions() -> None:
    counts = replay_counts(RESULT)
    assert counts["action"].tolist() == ["allow", "mask", "hold", "timeout", "block"]
    assert counts["before"].tolist() == [12, 0, 0, 0, 0]
    assert counts["after"].tolist() == [11, 0, 1, 0, 0]
    [change] = replay_changes(RESULT).to_dict("records")
    assert change == {
        "seq": 4,
        "time": "00:00:00",
        "user": "bob",
        "message": "you idiot",
        "before": "allow",
        "after": "hold",
        "rule": "toxicity 0.80 ≥ hold 0.70, policy v2",
    }


def test_summaries_are_escaped_and_say_what_matters() -> None:
    summary = replay_summary({**RESULT, "complete": False})
    assert "12 messages replayed · 1 would change" in summary
    assert "&lt;b&gt;eve&lt;/b&gt;" in summary and "<b>" not in summary
    assert "partial" in summary
    assert shadow_summary({"attached": False}) == "No shadow policy on this room."
    status = {"attached": True, "id": 3, "attached_by": "mod", "decided": 4, "agreed": 3,
              "agreement": 0.75, "active_version": 2}  # fmt: skip
    assert shadow_summary(status) == (
        "Shadow #3 by mod: agreement 75 % (3 of 4 messages) · 1 disagreement · active policy v2"
    )


def test_disagreements_and_versions_become_tables() -> None:
    status = {
        "disagreements": [
            {"seq": 9, "ts": 60.0, "user": "ann", "text": "gg",
             "active": {"action": "allow"}, "shadow": {"action": "hold", "rule": "r"}}
        ]
    }  # fmt: skip
    assert disagreements_frame(status).to_dict("records") == [
        {"seq": 9, "time": "00:01:00", "user": "ann", "message": "gg", "active": "allow",
         "shadow": "hold", "shadow_rule": "r"}
    ]  # fmt: skip
    versions = versions_frame(
        [{"version": 3, "created_at": "2026-12-01T10:00:00Z", "created_by": "mod",
          "source": "rollback to v1", "current": True},
         {"version": 1, "created_at": None, "created_by": None, "source": "default"}]
    )  # fmt: skip
    assert versions["current"].tolist() == ["●", ""]
    assert versions["created_at"].tolist() == ["2026-12-01 10:00:00", ""]


def test_why_html_marks_the_driving_words_and_escapes_everything() -> None:
    page = why_html("<script>x</script> you IDIOT, no spoiler", WHY)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<mark class='why-driver'>IDIOT</mark>" in page
    assert "<mark class='why-blocked'>spoiler</mark>" in page
    assert "insult 0.85 ≥ hold 0.60, policy v2" in page
    assert "found by occlusion" in page and "idiot 0.85" in page
    assert "Over threshold:</b> toxicity" in page
    assert "No explanation recorded" in why_html("hi", None)
    assert "explain to find them" in why_html("hi", {**WHY, "drivers": [], "drivers_by": ""})


def test_messages_keep_their_why_and_a_later_explanation_replaces_it() -> None:
    df = messages_frame([{"id": "a", "message": "***", "original": "idiot", "why": WHY}])
    assert df["rule"].tolist() == [why_text(WHY)]
    assert df["original"].tolist() == ["idiot"]
    newer = {**WHY, "text": "newer"}
    assert with_why(df, "a", newer)["rule"].tolist() == ["newer"]
    assert with_why(df, "missing", newer) is df

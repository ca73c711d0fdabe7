"""The dashboard's pure data layer: tree rows, metrics series, message tables, policies."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from dashboard.frames import (
    STATUS_COLOURS,
    MetricsHistory,
    Overload,
    audit_frame,
    filter_messages,
    gifters_frame,
    merge_messages,
    messages_frame,
    overload,
    score_distribution,
    tree_changes,
    tree_edges,
    tree_rows,
)
from dashboard.policy import build_policy, policy_tables


def node(name: str, path: str, *children: dict[str, Any], **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "path": path,
        "kind": "actor",
        "status": "running",
        "restarts": 0,
        "last_error": None,
        "mailbox": {"depth": 0, "capacity": 64, "dropped": 0, "sent": 0, "policy": "block"},
        "handled": 0,
        "uptime": 1.5,
        "info": {},
        "children": list(children),
    }
    base.update(fields)
    return base


SNAPSHOT = node(
    "safestream",
    "/safestream",
    node("store", "/safestream/store"),
    node(
        "rooms",
        "/safestream/rooms",
        node(
            "room:main",
            "/safestream/rooms/room:main",
            status="restarting",
            restarts=2,
            mailbox={"depth": 16, "capacity": 64, "dropped": 3, "sent": 9, "policy": "block"},
            last_error={"type": "RuntimeError", "message": "boom", "at": "2026-01-01T00:00:00"},
        ),
    ),
)


def message(i: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"m{i}",
        "user": "ann",
        "message": f"hello {i}",
        "toxic": False,
        "score": 0.1,
        "ts": f"2026-01-01T00:00:{i:02d}+00:00",
        "room": "main",
        "seq": i,
        "action": "allow",
        "scores": {"toxicity": 0.1, "insult": 0.05},
        "status": "visible",
    }
    base.update(fields)
    return base


def test_tree_rows_flatten_depth_first_with_depth_and_parent() -> None:
    rows = tree_rows(SNAPSHOT)
    assert [r["name"] for r in rows] == ["safestream", "store", "rooms", "room:main"]
    assert [r["depth"] for r in rows] == [0, 1, 1, 2]
    assert rows[3]["parent"] == "/safestream/rooms"
    assert rows[0]["parent"] == ""


def test_tree_rows_carry_status_colour_restarts_mailbox_and_last_error() -> None:
    room = {r["path"]: r for r in tree_rows(SNAPSHOT)}["/safestream/rooms/room:main"]
    assert room["status"] == "restarting"
    assert room["colour"] == STATUS_COLOURS["restarting"]
    assert room["restarts"] == 2
    assert (room["mailbox_depth"], room["mailbox_capacity"]) == (16, 64)
    assert room["mailbox_fill"] == pytest.approx(0.25)
    assert room["mailbox_dropped"] == 3
    assert room["last_error"] == "RuntimeError: boom"


def test_tree_rows_tolerate_missing_fields_and_zero_capacity() -> None:
    rows = tree_rows({"name": "lonely", "mailbox": {"capacity": 0, "depth": 5}, "status": "odd"})
    assert rows[0]["path"] == "/lonely"
    assert rows[0]["mailbox_fill"] == 0.0
    assert rows[0]["last_error"] == ""
    assert rows[0]["colour"] not in STATUS_COLOURS.values()


def test_tree_edges_join_each_child_to_its_parent_row() -> None:
    rows = tree_rows(SNAPSHOT)
    xs, ys = tree_edges(rows)
    # Rows are drawn at x=depth, y=-row index; an edge is an elbow from parent to child.
    at = {r["path"]: (float(r["depth"]), -float(i)) for i, r in enumerate(rows)}

    def elbow(parent: str, child: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        (px, py), (cx, cy) = at[parent], at[child]
        return (px, px, cx), (py, cy, cy)

    edges = {(tuple(x), tuple(y)) for x, y in zip(xs, ys, strict=True)}
    assert len(xs) == 3  # every node but the root, once
    assert edges == {
        elbow("/safestream", "/safestream/store"),
        elbow("/safestream", "/safestream/rooms"),
        elbow("/safestream/rooms", "/safestream/rooms/room:main"),
    }


def test_tree_changes_report_restart_status_change_new_error_and_new_actor() -> None:
    old = tree_rows(node("s", "/s", node("a", "/s/a")))
    new = tree_rows(
        node(
            "s",
            "/s",
            node(
                "a",
                "/s/a",
                status="restarting",
                restarts=1,
                last_error={"type": "ValueError", "message": "bad"},
            ),
            node("b", "/s/b"),
        )
    )
    assert set(tree_changes(old, new)) == {
        "/s/a: running \u2192 restarting",
        "/s/a: restarted (restarts 1)",
        "/s/a: error ValueError: bad",
        "/s/b: appeared (running)",
    }
    assert set(tree_changes(new, old)) == {"/s/a: restarting \u2192 running", "/s/b: gone"}
    assert tree_changes(new, new) == []


def test_metrics_history_gives_rates_and_rolling_toxic_percentage() -> None:
    history = MetricsHistory()
    history.add(0.0, {"messages_total": 0, "toxic_total": 0})
    history.add(1.0, {"messages_total": 10, "toxic_total": 5})
    history.add(2.0, {"messages_total": 30, "toxic_total": 5})
    df = history.frame(window_secs=30.0)
    assert df["messages_per_sec"].tolist() == [0.0, 10.0, 20.0]
    assert df["toxic_pct"].iloc[-1] == pytest.approx(100 * 5 / 30)
    assert history.latest_rate() == 20.0


def test_metrics_history_window_forgets_old_samples() -> None:
    history = MetricsHistory()
    history.add(0.0, {"messages_total": 0, "toxic_total": 0})
    history.add(10.0, {"messages_total": 10, "toxic_total": 10})
    history.add(20.0, {"messages_total": 20, "toxic_total": 10})
    assert history.frame(window_secs=10.0)["toxic_pct"].iloc[-1] == 0.0


def test_metrics_history_reset_counters_start_a_new_baseline() -> None:
    history = MetricsHistory()
    history.add(0.0, {"messages_total": 100, "toxic_total": 50})
    history.add(1.0, {"messages_total": 2, "toxic_total": 0})
    history.add(2.0, {"messages_total": 6, "toxic_total": 2})
    df = history.frame()
    assert (df["messages_per_sec"] >= 0).all()
    assert df["toxic_pct"].iloc[-1] == pytest.approx(50.0)


def test_metrics_history_is_bounded() -> None:
    history = MetricsHistory(maxlen=5)
    for t in range(20):
        history.add(float(t), {"messages_total": t})
    assert len(history) == 5


def test_messages_frame_has_the_table_columns_and_types() -> None:
    df = messages_frame([message(1, toxic=True, score="0.9"), message(2, action=None)])
    assert df["toxic"].tolist() == [True, False]
    assert df["score"].tolist() == [0.9, 0.1]
    assert df["action"].tolist() == ["allow", ""]
    assert isinstance(df["scores"].iloc[0], dict)


def test_merge_messages_keeps_newest_first_updates_by_id_and_bounds() -> None:
    current = messages_frame([message(1), message(2)])
    new = messages_frame([message(3), message(2, status="deleted")])
    merged = merge_messages(current, new, limit=2)
    assert merged["id"].tolist() == ["m3", "m2"]
    assert merged["status"].tolist() == ["visible", "deleted"]


def test_filter_messages_by_user_room_toxic_and_action() -> None:
    df = messages_frame(
        [
            message(1, user="Ann"),
            message(2, user="bob", toxic=True, action="mask"),
            message(3, user="bob", room="other", toxic=True, action="hold"),
        ]
    )
    assert filter_messages(df, user="an")["id"].tolist() == ["m1"]
    assert filter_messages(df, room="main", toxic_only=True)["id"].tolist() == ["m2"]
    assert filter_messages(df, action="hold")["id"].tolist() == ["m3"]
    assert len(filter_messages(df)) == 3


def test_filter_messages_treats_user_text_literally() -> None:
    df = messages_frame([message(1, user="a.b"), message(2, user="axb")])
    assert filter_messages(df, user="a.b")["id"].tolist() == ["m1"]


def test_score_distribution_summarises_each_category() -> None:
    df = messages_frame(
        [message(i, scores={"toxicity": i / 10, "insult": 0.5}) for i in range(1, 6)]
    )
    dist = score_distribution(df).set_index("category")
    assert dist.loc["toxicity", "count"] == 5
    assert dist.loc["toxicity", "median"] == pytest.approx(0.3)
    assert dist.loc["toxicity", "max"] == pytest.approx(0.5)
    assert dist.loc["insult", "q1"] == dist.loc["insult", "q3"] == pytest.approx(0.5)


def test_score_distribution_of_nothing_is_empty() -> None:
    assert score_distribution(messages_frame([])).empty


def test_gifters_and_audit_frames_sort_biggest_and_newest_first() -> None:
    gifts = gifters_frame([{"user": "a", "amount": 5}, {"user": "b", "amount": 50}])
    assert gifts["user"].tolist() == ["b", "a"]
    audit = audit_frame(
        [
            {"id": 1, "actor": "mod", "action": "mute", "created_at": "2026-01-01T00:00:00"},
            {"id": 2, "actor": "mod", "action": "ban", "created_at": "2026-01-02T00:00:00"},
        ]
    )
    assert audit["id"].tolist() == [2, 1]


POLICY = {
    "version": 4,
    "thresholds": {"toxicity": 0.6},
    "bands": [{"category": "any", "min_score": 0.9, "action": "hold"}],
    "blocked_terms": ["spam"],
    "blocked_term_action": "mask",
    "slow_mode_secs": 0.0,
    "duplicate_window_secs": 30.0,
    "max_duplicates": 3,
    "timeout_secs": 300.0,
    "failure_mode": "closed",
}


def test_policy_round_trips_through_the_editor_tables() -> None:
    thresholds, bands = policy_tables(POLICY)
    rebuilt = build_policy(POLICY, thresholds, bands, "spam\n", slow_mode_secs=0.0)
    assert rebuilt == POLICY


def test_build_policy_applies_edits() -> None:
    thresholds, bands = policy_tables(POLICY)
    thresholds.loc[0, "threshold"] = 0.4
    bands = pd.concat(
        [bands, pd.DataFrame([["insult", 0.8, "block"]], columns=bands.columns)],
        ignore_index=True,
    )
    new = build_policy(
        POLICY, thresholds, bands, " scam \n\nspam", slow_mode_secs="2", max_duplicates=5
    )
    assert new["thresholds"] == {"toxicity": 0.4}
    assert new["bands"][-1] == {"category": "insult", "min_score": 0.8, "action": "block"}
    assert new["blocked_terms"] == ["scam", "spam"]
    assert (new["slow_mode_secs"], new["max_duplicates"]) == (2.0, 5)


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ("threshold", {}),
        ("action", {}),
        ("category", {}),
        (None, {"slow_mode_secs": -1}),
        (None, {"failure_mode": "sideways"}),
        (None, {"blocked_term_action": "explode"}),
        (None, {"colour": "red"}),
    ],
)
def test_build_policy_rejects_bad_values(change: str | None, fields: dict[str, Any]) -> None:
    thresholds, bands = policy_tables(POLICY)
    if change == "threshold":
        thresholds.loc[0, "threshold"] = 1.5
    elif change == "action":
        bands.loc[0, "action"] = "explode"
    elif change == "category":
        bands.loc[0, "category"] = " "
    with pytest.raises(ValueError):
        build_policy(POLICY, thresholds, bands, "", **fields)


def test_tree_rows_list_every_node_of_a_cluster_with_unique_paths() -> None:
    def tree(name: str) -> dict[str, object]:
        return {
            "name": "safestream", "path": "/safestream", "kind": "supervisor",
            "status": "running", "children": [
                {"name": name, "path": f"/safestream/{name}", "kind": "room", "status": "running"}
            ],
        }  # fmt: skip

    rows = tree_rows({**tree("store"), "node": "a", "cluster": {"b": tree("rooms")}})
    assert [row["path"] for row in rows] == [
        "/safestream",
        "/safestream/store",
        "b:/safestream",
        "b:/safestream/rooms",
    ]
    assert rows[3]["parent"] == "b:/safestream"


def overload_sample(busy: dict[str, int], shed: int = 0, cut: int = 0) -> dict[str, Any]:
    return {
        "messages_total": 0,
        "slow_consumers": cut,
        "overload": {"room_busy": busy, "shed": {"presence": shed}},
    }


def test_overload_counts_what_was_turned_away_in_the_window() -> None:
    history = MetricsHistory()
    history.add(0.0, overload_sample({"delivery": 50}))  # before the window
    history.add(10.0, overload_sample({"delivery": 60}, shed=5))
    history.add(20.0, overload_sample({"delivery": 70, "elsewhere": 30}, shed=9, cut=2))
    history.add(40.0, overload_sample({"delivery": 80, "elsewhere": 90}, shed=20, cut=3))
    found = overload(history, window_secs=30.0)
    assert found == Overload(secs=30.0, refused={"delivery": 20, "elsewhere": 90}, shed=15, cut=3)
    assert found.refused_per_sec == pytest.approx(110 / 30)
    assert found.text() == (
        "Last 30 s: The chat refused 110 posts as busy (delivery to viewers on another node"
        " is behind: 90; delivery to viewers is behind: 20). 3 viewers cut off as too"
        " slow. 15 presence or gift updates skipped."
    )


def test_overload_is_nothing_when_nothing_was_turned_away_or_counters_were_reset() -> None:
    history = MetricsHistory()
    assert overload(history) == Overload() and Overload().text() == ""
    history.add(0.0, overload_sample({"delivery": 500}, shed=40, cut=9))
    history.add(1.0, overload_sample({}, shed=0, cut=0))  # metrics reset (or a restart)
    history.add(2.0, overload_sample({"queue": 1}))
    assert overload(history) == Overload(secs=1.0, refused={"queue": 1})
    assert overload(history).text() == (
        "Last 1 s: The chat refused 1 post as busy (its pipeline queue is full: 1)."
    )
    quiet = MetricsHistory()
    quiet.add(0.0, overload_sample({"delivery": 5}))
    quiet.add(1.0, overload_sample({"delivery": 5}))
    assert overload(quiet).text() == "" and overload(quiet).refused_per_sec == 0.0

"""Replaying a candidate policy over HTTP: results on a seeded history, roles, pagination,
bounds, bad input (4xx naming the field, nothing changed) and the progress stream."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from serverkit import Server

from safestream.store import repo
from safestream.store.database import Database
from safestream.store.records import MessageRow

ROOM = "lab"
URL = f"/api/admin/rooms/{ROOM}/replay"
CANDIDATE = {
    "bands": [
        {"category": "toxicity", "min_score": 0.7, "action": "hold"},
        {"category": "threat", "min_score": 0.9, "action": "timeout"},
    ],
    "failure_mode": "open",
}
HISTORY = [  # (user, text, scores, action)
    ("alice", "hello", {"toxicity": 0.05}, "allow"),
    ("bob", "you idiot", {"toxicity": 0.8, "insult": 0.85}, "allow"),
    ("carol", "i will hurt you", {"toxicity": 0.5, "threat": 0.91}, "allow"),
    ("bob", "trash", {"toxicity": 0.5}, "allow"),
    ("dave", "are you there", {}, "unscored"),
]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"replay_max_messages": 4, "replay_max_window_secs": 7200.0}


def seed(server: Server, history: list[tuple[str, str, dict[str, float], str]]) -> None:
    """`history` stored in room lab, one second apart, ending a minute ago."""
    db = Database(server.settings.database_url, threads=1)
    start = time.time() - 60 - len(history)
    rows = [
        MessageRow(
            id=f"lab{seq:029d}",
            room=ROOM,
            seq=seq,
            username=user,
            text=text,
            ts=start + seq,
            toxic=False,
            score=scores.get("toxicity", 0.0),
            scores=scores,
            action=action,
            policy_version=1,
        )
        for seq, (user, text, scores, action) in enumerate(history, start=1)
    ]
    try:
        db.run_sync(repo.insert_batch, rows, (), ())
    finally:
        db.dispose()


async def replay(server: Server, body: dict[str, Any], **params: Any) -> httpx.Response:
    mod = await server.auth_headers("test_streamer")
    return await server.http.post(URL, json=body, params=params, headers=mod)


async def audit_actions(server: Server) -> list[str]:
    mod = await server.auth_headers("test_streamer")
    log = (await server.http.get("/api/admin/audit", headers=mod)).json()["actions"]
    return [entry["action"] for entry in log]


async def test_replay_on_a_seeded_history_gives_the_known_difference(server: Server) -> None:
    seed(server, HISTORY[:4])
    response = await replay(server, {"policy": CANDIDATE, "since_secs": 3600})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["scanned"], result["changed"], result["complete"]) == (4, 2, True)
    assert result["before"] == {"allow": 4, "mask": 0, "hold": 0, "timeout": 0, "block": 0}
    assert result["after"] == {"allow": 2, "mask": 0, "hold": 1, "timeout": 1, "block": 0}
    assert result["newly_timed_out"] == ["carol"]
    assert result["candidate"] == "unsaved" and result["policy"]["version"] == 2
    changes = [(c["user"], c["before"]["action"], c["after"]["action"]) for c in result["changes"]]
    assert changes == [("bob", "allow", "hold"), ("carol", "allow", "timeout")]
    assert result["changes"][1]["after"]["rule"] == "threat 0.91 ≥ timeout 0.90, policy v2"
    assert result["changes"][1]["scores"] == {"toxicity": 0.5, "threat": 0.91}
    assert await audit_actions(server) == ["replay"]


async def test_replay_of_a_stored_version_and_of_the_last_n_messages(server: Server) -> None:
    seed(server, HISTORY[:4])
    mod = await server.auth_headers("test_streamer")
    saved = await server.http.put(f"/api/admin/rooms/{ROOM}/policy", json=CANDIDATE, headers=mod)
    assert saved.status_code == 200 and saved.json()["version"] == 2
    result = (await replay(server, {"version": 2, "last": 2})).json()
    assert result["candidate"] == "v2" and result["window"]["last"] == 2
    assert result["scanned"] == 2 and result["changed"] == 1  # carol's and bob's "trash"
    default = (await replay(server, {"version": 1, "last": 4})).json()
    assert default["changed"] == 0


async def test_changes_are_paginated_and_only_the_first_page_is_audited(server: Server) -> None:
    seed(server, HISTORY[:4])
    body = {"policy": CANDIDATE, "since_secs": 3600}
    first = (await replay(server, body, limit=1)).json()
    second = (await replay(server, body, offset=1, limit=1)).json()
    assert [c["user"] for c in first["changes"]] == ["bob"]
    assert [c["user"] for c in second["changes"]] == ["carol"]
    assert first["changed"] == second["changed"] == 2
    assert (await replay(server, body, offset=5)).json()["changes"] == []
    assert await audit_actions(server) == ["replay"]


async def test_a_window_with_more_messages_than_allowed_replays_the_newest(server: Server) -> None:
    seed(server, HISTORY)  # 5 messages, REPLAY_MAX_MESSAGES is 4
    result = (await replay(server, {"policy": CANDIDATE, "since_secs": 3600})).json()
    assert result["window"]["messages"] == 5 and result["window"]["truncated"] is True
    assert result["scanned"] == 4
    assert result["unscored"] == 1  # dave's, the newest, is in
    assert result["before"]["allow"] == 4  # "unscored" was delivered, so it counts as allow


async def test_re_scoring_uses_the_live_model(server: Server) -> None:
    seed(server, [("bob", "you idiot", {"toxicity": 0.0}, "allow")])
    body = {"policy": CANDIDATE, "last": 1}
    assert (await replay(server, body)).json()["changed"] == 0  # stored scores: harmless
    result = (await replay(server, {**body, "rescore": True})).json()
    assert result["rescored"] is True and result["changed"] == 1
    assert result["changes"][0]["rescored"] is True
    assert result["changes"][0]["scores"]["insult"] == 0.85  # the keyword model's


@pytest.mark.parametrize(
    ("body", "status", "error", "field"),
    [
        ({"policy": CANDIDATE, "since_secs": 7201}, 422, "window_too_large", "since_secs"),
        (
            {"policy": CANDIDATE, "since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"},
            422,
            "window_too_large",
            "since",
        ),
        ({"policy": CANDIDATE, "last": 5}, 422, "window_too_large", "last"),
        ({"policy": CANDIDATE}, 422, "invalid_request", "last"),
        ({"since_secs": 60}, 422, "invalid_request", "version"),
        ({"policy": CANDIDATE, "version": 2, "last": 1}, 422, "invalid_request", "version"),
        (
            {"policy": {"thresholds": {"toxicity": 1.5}}, "last": 1},
            422,
            "invalid_request",
            "policy",
        ),
        (
            {
                "policy": {"bands": [{"category": "x", "min_score": 0.5, "action": "nuke"}]},
                "last": 1,
            },
            422,
            "invalid_request",
            "policy.bands.0.action",
        ),
        ({"policy": {"speed": 3}, "last": 1}, 422, "invalid_request", "policy.speed"),
        ({"version": 9, "last": 1}, 404, "version_not_found", "version"),
        ({"policy": CANDIDATE, "since": "2020-01-01T00:00:00"}, 422, "invalid_request", "since"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(
    server: Server, body: dict[str, Any], status: int, error: str, field: str
) -> None:
    seed(server, HISTORY[:1])
    response = await replay(server, body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"] == error
    assert answer["fields"][0]["field"] == field, answer
    assert await audit_actions(server) == []


async def test_unknown_rooms_and_roles_are_refused(server: Server) -> None:
    body = {"policy": CANDIDATE, "last": 1}
    mod = await server.auth_headers("test_streamer")
    missing = await server.http.post("/api/admin/rooms/nowhere/replay", json=body, headers=mod)
    assert (missing.status_code, missing.json()["error"]) == (404, "room_not_found")
    bad = await server.http.post("/api/admin/rooms/no%20pe/replay", json=body, headers=mod)
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_room")
    viewer = await server.auth_headers("demo_user")
    assert (await server.http.post(URL, json=body, headers=viewer)).status_code == 403
    assert (await server.http.post(URL, json=body)).status_code == 401
    assert await audit_actions(server) == []
    mod_rooms = await server.http.get("/api/admin/rooms/nowhere/policy/versions", headers=mod)
    assert mod_rooms.status_code == 404  # and the room was not created by asking


async def test_the_stream_reports_progress_then_the_result(server: Server) -> None:
    seed(server, HISTORY[:4])
    mod = await server.auth_headers("test_streamer")
    response = await server.http.post(
        f"{URL}/stream", json={"policy": CANDIDATE, "since_secs": 3600}, headers=mod
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
        for block in response.text.strip().split("\n\n")
    ]
    kinds = [kind for kind, _data in events]
    assert kinds[0] == "progress" and kinds[-1] == "result"
    assert events[-2][1] == {"read": 4, "total": 4}
    assert events[-1][1]["changed"] == 2
    refused = await server.http.post(f"{URL}/stream", json={"last": 1}, headers=mod)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/json"

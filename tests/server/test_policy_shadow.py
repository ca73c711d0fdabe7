"""Shadow policies, promotion and rollback over HTTP, with a real room and viewers."""

from __future__ import annotations

import json
from typing import Any

from serverkit import Server, raw_get, viewer

HOLD_ALL = {"bands": [{"category": "any", "min_score": 0.0, "action": "hold"}]}
HOLD_TOXIC = {"bands": [{"category": "toxicity", "min_score": 0.6, "action": "hold"}]}
SAME = ("type", "user", "message", "toxic", "score", "action", "scores", "policy_version")


async def audit(server: Server) -> list[dict[str, Any]]:
    mod = await server.auth_headers("test_streamer")
    return list((await server.http.get("/api/admin/audit", headers=mod)).json()["actions"])


async def test_a_shadow_never_changes_what_viewers_receive(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    lines = ["hello", "you idiot", "gg"]
    received: dict[str, list[dict[str, Any]]] = {}
    for room in ("calm", "watched"):
        async with viewer(server, "demo_user", room=room) as ann:
            await ann.next("history")
            if room == "watched":
                url = f"/api/admin/rooms/{room}/shadow"
                attached = await server.http.post(url, json={"policy": HOLD_ALL}, headers=mod)
                assert attached.status_code == 200, attached.text
                assert attached.json()["attached"] is True
            for line in lines:
                await ann.chat(line)
            received[room] = [await ann.next("chat") for _ in lines]
    for calm, watched in zip(received["calm"], received["watched"], strict=True):
        assert {k: calm[k] for k in SAME} == {k: watched[k] for k in SAME}
        assert "shadow" not in watched and "why" not in watched
    status = await server.http.get("/api/admin/rooms/watched/shadow", headers=mod)
    body = status.json()
    assert (body["decided"], body["agreed"], body["agreement"]) == (3, 0, 0.0)
    assert {(c["active"], c["shadow"]) for c in body["tally"]} == {("allow", "hold")}
    newest = body["disagreements"][0]
    assert newest["text"] == "gg" and newest["shadow"]["action"] == "hold"
    assert newest["shadow"]["rule"].startswith("toxicity 0.00 ≥ hold 0.00")
    assert newest["active"]["rule"].startswith("no band matched")


async def test_moderators_see_the_shadow_decision_live(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await server.http.post(
            "/api/admin/rooms/main/shadow", json={"policy": HOLD_TOXIC}, headers=mod
        )
        async with raw_get(server, "/api/admin/events", mod) as events:
            await events.read_until(": connected")
            await ann.chat("you idiot")
            text = await events.read_until('"agrees"')
    event = json.loads(text.split("event: message\ndata: ", 1)[1].split("\n", 1)[0])
    assert event["shadow"]["action"] == "hold" and event["shadow"]["agrees"] is False
    assert (
        event["why"]["rule"]["text"] == "no band matched (highest insult 0.85) → allow, policy v1"
    )


async def test_promote_then_rollback_create_audited_versions(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        attached = await server.http.post(
            "/api/admin/rooms/main/shadow", json={"policy": HOLD_TOXIC}, headers=mod
        )
        shadow_id = attached.json()["id"]
        promoted = await server.http.post("/api/admin/rooms/main/shadow/promote", headers=mod)
        assert promoted.status_code == 200, promoted.text
        assert promoted.json() == {**promoted.json(), "outcome": "promoted", "version": 2}
        await ann.next("policy")
        await ann.chat("you idiot")
        held = await ann.next("held")
        assert held["policy_version"] == 2

        rolled = await server.http.post(
            "/api/admin/rooms/main/policy/rollback",
            json={"version": 1, "reason": "too strict"},
            headers=mod,
        )
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["version"] == 3 and rolled.json()["bands"] == []
        await ann.next("policy")
        await ann.chat("you idiot again")
        assert (await ann.next("chat"))["policy_version"] == 3

    versions = await server.http.get("/api/admin/rooms/main/policy/versions", headers=mod)
    listing = versions.json()
    assert listing["current"] == 3
    assert [
        (v["version"], v["source"], v["created_by"], v["current"]) for v in listing["versions"]
    ] == [
        (3, "rollback to v1", "test_streamer", True),
        (2, f"promoted shadow #{shadow_id}", "test_streamer", False),
        (1, "default", None, False),
    ]
    log = await audit(server)
    assert [entry["action"] for entry in log[:3]] == [
        "policy_rollback",
        "shadow_promote",
        "shadow_attach",
    ]
    assert log[0]["reason"] == "too strict" and log[0]["detail"]["restored"] == 1
    assert log[1]["detail"]["version"] == 2 and log[1]["detail"]["shadow_id"] == shadow_id
    shadow = await server.http.get("/api/admin/rooms/main/shadow", headers=mod)
    assert shadow.json()["attached"] is False


async def test_dropping_ends_the_shadow_and_a_second_drop_is_404(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    await server.http.get("/api/admin/rooms/main/policy", headers=mod)  # the room exists
    await server.http.post("/api/admin/rooms/main/shadow", json={"version": 1}, headers=mod)
    dropped = await server.http.post("/api/admin/rooms/main/shadow/drop", headers=mod)
    assert dropped.status_code == 200 and dropped.json()["outcome"] == "dropped"
    again = await server.http.post("/api/admin/rooms/main/shadow/drop", headers=mod)
    assert (again.status_code, again.json()["error"]) == (404, "no_shadow")
    promote = await server.http.post("/api/admin/rooms/main/shadow/promote", headers=mod)
    assert (promote.status_code, promote.json()["error"]) == (404, "no_shadow")
    assert [e["action"] for e in await audit(server)] == ["shadow_drop", "shadow_attach"]


async def test_rollback_refuses_unknown_and_current_versions_and_changes_nothing(
    server: Server,
) -> None:
    mod = await server.auth_headers("test_streamer")
    url = "/api/admin/rooms/main/policy"
    await server.http.put(url, json=HOLD_TOXIC, headers=mod)  # v2
    missing = await server.http.post(f"{url}/rollback", json={"version": 7}, headers=mod)
    assert missing.status_code == 404
    assert missing.json()["error"] == "version_not_found"
    assert missing.json()["fields"] == [{"field": "version", "message": "room has no policy v7"}]
    current = await server.http.post(f"{url}/rollback", json={"version": 2}, headers=mod)
    assert (current.status_code, current.json()["error"]) == (409, "already_current")
    zero = await server.http.post(f"{url}/rollback", json={"version": 0}, headers=mod)
    assert zero.status_code == 422 and zero.json()["fields"][0]["field"] == "version"
    assert (await server.http.get(url, headers=mod)).json()["version"] == 2
    assert [e["action"] for e in await audit(server)] == ["policy"]
    viewer_headers = await server.auth_headers("demo_user")
    forbidden = await server.http.post(
        f"{url}/rollback", json={"version": 1}, headers=viewer_headers
    )
    assert forbidden.status_code == 403

"""`/api/model/*` on a real server: labels from moderator decisions and marks, who may
retrain and roll back, and the status."""

from __future__ import annotations

import pytest
import trio
from serverkit import Server, viewer

from safestream.store import repo
from safestream.store.database import Database

HOLD = {"bands": [{"category": "toxicity", "min_score": 0.6, "action": "hold"}]}


async def _labels(server: Server, headers: dict[str, str]) -> list[dict[str, object]]:
    response = await server.http.get("/api/model/labels", headers=headers)
    assert response.status_code == 200, response.text
    labels: list[dict[str, object]] = response.json()["labels"]
    return labels


async def test_approving_a_held_message_stores_a_not_toxic_label_with_who_decided(
    server: Server,
) -> None:
    mod = await server.auth_headers("test_streamer")
    assert (
        await server.http.put("/api/admin/rooms/main/policy", json=HOLD, headers=mod)
    ).is_success
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("you are an idiot")
        held = await ann.next("held")
        approved = await server.http.post(f"/api/admin/held/{held['id']}/approve", headers=mod)
        assert approved.status_code == 200
    [label] = await _labels(server, mod)
    assert label["message_id"] == held["id"]
    assert (label["toxic"], label["source"], label["actor"]) == (False, "approve", "test_streamer")
    assert label["model_toxic"] is True


async def test_deleting_a_message_the_model_let_through_stores_a_toxic_label(
    server: Server,
) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("you smell like a sewer")  # not in the keyword list: delivered
        frame = await ann.next("chat")
        assert frame["toxic"] is False
        await ann.chat("you idiot")  # flagged by the model: deleting it teaches nothing
        flagged = await ann.next("chat")
        for message in (frame, flagged):
            response = await server.http.post(
                f"/api/admin/messages/{message['id']}/delete", headers=mod
            )
            assert response.status_code == 200
    [label] = await _labels(server, mod)
    assert (label["message_id"], label["toxic"], label["source"]) == (frame["id"], True, "delete")


async def test_a_timeout_naming_a_delivered_message_stores_a_toxic_label(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("ur done irl")
        frame = await ann.next("chat")
        response = await server.http.post(
            "/api/admin/mute",
            json={"username": "demo_user", "duration_secs": 60, "message_id": frame["id"]},
            headers=mod,
        )
        assert response.status_code == 200, response.text
    [label] = await _labels(server, mod)
    assert (label["message_id"], label["source"], label["toxic"]) == (frame["id"], "timeout", True)


async def test_explicit_marks_are_stored_and_counted(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    body = {"text": "that trap murdered me lmao", "toxic": False}
    assert (await server.http.post("/api/model/labels", json=body, headers=mod)).is_success
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("keep streaming while you still can")
        frame = await ann.next("chat")
    marked = await server.http.post(
        f"/api/model/messages/{frame['id']}/label",
        json={"toxic": True, "categories": ["threat"]},
        headers=mod,
    )
    assert marked.status_code == 200, marked.text
    assert marked.json()["categories"] == ["threat"]
    listing = (await server.http.get("/api/model/labels", headers=mod)).json()
    assert listing["counts"] == {"total": 2, "toxic": 1, "not_toxic": 1}
    assert [lab["source"] for lab in listing["labels"]] == ["mark", "mark"]
    bad = await server.http.post(
        "/api/model/labels",
        json={"text": "x", "toxic": False, "categories": ["threat"]},
        headers=mod,
    )
    assert bad.status_code == 422


async def test_viewers_cannot_label_and_only_admins_retrain_or_roll_back(server: Server) -> None:
    viewer_headers = await server.auth_headers("demo_user")
    body = {"text": "x", "toxic": True}
    assert (
        await server.http.post("/api/model/labels", json=body, headers=viewer_headers)
    ).status_code == 403
    await server.register("mod_mary")
    db = Database(server.settings.database_url, threads=1)
    db.run_sync(repo.set_role, "mod_mary", "moderator")
    db.dispose()
    mod = await server.auth_headers("mod_mary")
    assert (await server.http.get("/api/model/status", headers=mod)).status_code == 200
    for path in ("/api/model/retrain", "/api/model/rollback"):
        assert (await server.http.post(path, headers=mod)).status_code == 403, path


async def test_rollback_with_no_earlier_version_is_refused_and_status_says_bundled(
    server: Server,
) -> None:
    admin = await server.auth_headers("test_streamer")
    status = (await server.http.get("/api/model/status", headers=admin)).json()
    assert (status["state"], status["live_version"], status["previous_version"]) == (
        "idle",
        "bundled",
        None,
    )
    response = await server.http.post("/api/model/rollback", headers=admin)
    assert response.status_code == 409
    assert "no earlier model version" in response.json()["detail"]


async def test_cli_model_commands_talk_to_the_running_server(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from safestream.cli import main

    monkeypatch.setenv("SAFESTREAM_MODE", "demo")
    login = ["--url", server.url, "--username", "test_streamer", "--password", "test_streamer"]
    mark = ["model", "mark", "gg ez", "--not-toxic", *login]
    assert await trio.to_thread.run_sync(main, mark) == 0
    assert await trio.to_thread.run_sync(main, ["model", "labels", *login]) == 0
    assert '"text": "gg ez"' in capsys.readouterr().out
    assert await trio.to_thread.run_sync(main, ["model", "status", *login]) == 0
    assert '"live_version": "bundled"' in capsys.readouterr().out
    assert await trio.to_thread.run_sync(main, ["model", "rollback", *login]) == 1

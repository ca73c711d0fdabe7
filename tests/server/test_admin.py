"""Moderator tools end to end: roles, sanctions, the hold queue, deletes, policy, audit."""

from __future__ import annotations

import json

import pytest
import trio
from serverkit import Server, open_socket, raw_get, running_server, viewer
from trio_websocket import ConnectionClosed

from safestream.chat.protocol import CloseCode
from safestream.store import repo
from safestream.store.database import Database

ADMIN_POSTS = [
    "/api/admin/kick",
    "/api/admin/mute",
    "/api/admin/ban",
    "/api/admin/unban",
    "/api/admin/reset_metrics",
    "/api/admin/messages/x/delete",
    "/api/admin/held/x/approve",
    "/api/admin/held/x/reject",
]
ADMIN_GETS = ["/api/admin/held", "/api/admin/audit", "/api/admin/messages", "/api/actors"]


async def test_viewer_gets_403_on_every_moderator_route(server: Server) -> None:
    headers = await server.auth_headers("demo_user")
    for path in ADMIN_POSTS:
        response = await server.http.post(path, json={"username": "chat_viewer"}, headers=headers)
        assert response.status_code == 403, path
        assert response.json()["error"] == "forbidden"
    for path in ADMIN_GETS:
        assert (await server.http.get(path, headers=headers)).status_code == 403, path


async def test_no_token_gets_401(server: Server) -> None:
    response = await server.http.post("/api/admin/kick", json={"username": "demo_user"})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


async def test_mute_refuses_the_next_message_and_is_audited(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        response = await server.http.post(
            "/api/admin/mute",
            json={"username": "demo_user", "duration_secs": 600, "reason": "spam"},
            headers=mod,
        )
        assert response.status_code == 200, response.text
        notice = await ann.next("timeout")
        assert notice["user"] == "demo_user"
        assert notice["until"] == response.json()["until"]
        await ann.chat("am I muted?")
        error = await ann.next("error")
        assert error["code"] == "muted"
    audit = (await server.http.get("/api/admin/audit", headers=mod)).json()["actions"]
    assert audit[0]["action"] == "mute"
    assert audit[0]["actor"] == "test_streamer"
    assert audit[0]["target"] == "demo_user"
    assert audit[0]["reason"] == "spam"
    assert audit[0]["duration_secs"] == 600


async def test_mute_without_duration_lasts_five_minutes(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    response = await server.http.post("/api/admin/mute", json={"user": "demo_user"}, headers=mod)
    assert response.status_code == 200
    audit = (await server.http.get("/api/admin/audit", headers=mod)).json()["actions"]
    assert audit[0]["duration_secs"] == 300


async def test_kick_closes_the_users_sockets_with_kicked(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        response = await server.http.post(
            "/api/admin/kick", json={"username": "demo_user"}, headers=mod
        )
        assert response.json()["connections"] == 1
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ann.next()
        assert closed.value.reason.code == CloseCode.KICKED


async def test_ban_closes_and_refuses_until_unbanned(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    token = await server.token("demo_user")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await server.http.post("/api/admin/ban", json={"username": "demo_user"}, headers=mod)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ann.next()
        assert closed.value.reason.code == CloseCode.BANNED
    async with open_socket(f"{server.ws_url}/ws/demo_user?token={token}") as ws:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await ws.get_message()
        assert closed.value.reason.code == CloseCode.BANNED
    await server.http.post("/api/admin/unban", json={"username": "demo_user"}, headers=mod)
    async with viewer(server, "demo_user") as ann:
        assert (await ann.next("history"))["room"] == "main"


async def test_moderator_cannot_act_on_an_admin_or_themselves(server: Server) -> None:
    await server.register("mod_mary")
    Database(server.settings.database_url, threads=1).run_sync(
        repo.set_role, "mod_mary", "moderator"
    )
    mary = await server.auth_headers("mod_mary")
    on_admin = await server.http.post(
        "/api/admin/ban", json={"username": "test_streamer"}, headers=mary
    )
    assert on_admin.status_code == 403
    on_self = await server.http.post("/api/admin/mute", json={"username": "mod_mary"}, headers=mary)
    assert on_self.status_code == 422
    on_viewer = await server.http.post(
        "/api/admin/mute", json={"username": "demo_user"}, headers=mary
    )
    assert on_viewer.status_code == 200


async def test_unknown_target_is_404(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    response = await server.http.post("/api/admin/kick", json={"username": "nobody"}, headers=mod)
    assert response.status_code == 404
    assert response.json()["error"] == "user_not_found"


async def test_hold_policy_holds_then_approve_delivers(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    policy = {"bands": [{"category": "toxicity", "min_score": 0.6, "action": "hold"}]}
    response = await server.http.put("/api/admin/rooms/main/policy", json=policy, headers=mod)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    async with viewer(server, "demo_user") as ann, viewer(server, "chat_viewer") as bob:
        await ann.next("history")
        await bob.next("history")
        await ann.chat("you are an idiot")
        held = await ann.next("held")
        assert held["message"] == "you are an idiot"
        assert held["policy_version"] == 2
        queue = (await server.http.get("/api/admin/held", headers=mod)).json()["held"]
        assert [m["id"] for m in queue] == [held["id"]]
        await bob.chat("hello")
        assert (await bob.next("chat"))["message"] == "hello"  # bob never saw the held one
        approved = await server.http.post(f"/api/admin/held/{held['id']}/approve", headers=mod)
        assert approved.status_code == 200
        frame = await bob.next("chat")
        assert frame["id"] == held["id"]
        again = await server.http.post(f"/api/admin/held/{held['id']}/approve", headers=mod)
        assert again.status_code == 409


async def test_invalid_policy_is_refused_with_reason(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    bad = {"bands": [{"category": "toxicity", "min_score": 2, "action": "hold"}]}
    response = await server.http.put("/api/admin/rooms/main/policy", json=bad, headers=mod)
    assert response.status_code == 422
    assert "min_score" in response.json()["detail"]
    unknown = await server.http.put("/api/admin/rooms/main/policy", json={"x": 1}, headers=mod)
    assert unknown.status_code == 422


async def test_delete_removes_message_for_viewers_and_history(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("delete me")
        frame = await ann.next("chat")
        response = await server.http.post(
            f"/api/admin/messages/{frame['id']}/delete", json={"reason": "spam"}, headers=mod
        )
        assert response.status_code == 200
        deleted = await ann.next("deleted")
        assert deleted["id"] == frame["id"]
    async with viewer(server, "chat_viewer") as bob:
        history = await bob.next("history")
        assert frame["id"] not in [m["id"] for m in history["messages"]]


async def test_gift_is_broadcast_stored_and_ranked(server: Server) -> None:
    headers = await server.auth_headers("demo_user")
    async with viewer(server, "chat_viewer") as bob:
        await bob.next("history")
        response = await server.http.post(
            "/api/gift", json={"gift_id": 2, "amount": 5}, headers=headers
        )
        assert response.status_code == 200, response.text
        gift = await bob.next("gift")
        assert (gift["from"], gift["gift_id"], gift["amount"]) == ("demo_user", 2, 5)
        assert isinstance(gift["ts"], str)
    top = (await server.http.get("/api/gifts/top")).json()["top"]
    assert top == [{"user": "demo_user", "amount": 5}]
    assert (await server.http.get("/metrics")).json()["gift_count"] == 1
    bad = await server.http.post("/api/gift", json={"gift_id": 99, "amount": 5}, headers=headers)
    assert bad.status_code == 422


async def test_metrics_keep_the_original_fields(server: Server) -> None:
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("you idiot")
        await ann.next("chat")
        metrics = (await server.http.get("/metrics")).json()
        assert metrics["viewer_count"] == 1
        assert metrics["toxic_pct"] == 100.0
        assert metrics["gift_count"] == 0
    text = (await server.http.get("/metrics/prometheus")).text
    assert "safestream_messages_total 1" in text
    assert "safestream_moderation_latency_seconds_count" in text


async def test_actor_tree_is_served_to_moderators(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    snapshot = (await server.http.get("/api/actors", headers=mod)).json()
    names = [child["name"] for child in snapshot["children"]]
    assert names == [
        "broker", "store", "moderation", "rooms", "gifts", "feed", "cluster", "connections",
        "trainer",
        "explainer",
    ]  # fmt: skip
    assert snapshot["status"] == "running"


async def test_moderator_feed_streams_messages(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        async with raw_get(server, "/api/admin/events", mod) as events:
            assert "200" in (await events.read_until(": connected")).splitlines()[0]
            await ann.chat("hello mods")
            text = await events.read_until("hello mods")
        data = next(line for line in text.splitlines() if "hello mods" in line)
        event = json.loads(data.removeprefix("data: "))
        assert event["user"] == "demo_user"
        assert event["status"] == "visible"


async def test_moderator_feed_needs_the_role(server: Server) -> None:
    viewer_headers = await server.auth_headers("demo_user")
    response = await server.http.get("/api/admin/events", headers=viewer_headers)
    assert response.status_code == 403


async def test_moderator_events_over_websocket(server: Server) -> None:
    token = await server.token("test_streamer")
    url = f"{server.ws_url}/api/admin/events/ws"
    async with viewer(server, "demo_user") as ann, open_socket(url) as feed:
        await ann.next("history")
        await feed.send_message(json.dumps({"type": "auth", "token": token}))
        with trio.fail_after(5):  # the first metrics event proves the subscription is live
            while json.loads(await feed.get_message())["type"] != "metrics":
                pass
        await ann.chat("for the mods")
        with trio.fail_after(5):
            while True:
                event = json.loads(await feed.get_message())
                if event["type"] == "message" and event["data"]["message"] == "for the mods":
                    break


async def test_moderator_events_socket_refuses_viewers(server: Server) -> None:
    token = await server.token("demo_user")
    async with open_socket(f"{server.ws_url}/api/admin/events/ws?token={token}") as feed:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await feed.get_message()
        assert closed.value.reason.code == CloseCode.POLICY_VIOLATION


@pytest.mark.parametrize("first", ["not json", "[1, 2]", '{"type": "chat", "message": "hi"}'])
async def test_moderator_events_socket_refuses_a_bad_first_frame_with_a_reason(
    server: Server, first: str
) -> None:
    async with open_socket(f"{server.ws_url}/api/admin/events/ws") as feed:
        await feed.send_message(first)
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await feed.get_message()
        assert closed.value.reason.code == CloseCode.POLICY_VIOLATION
        assert "auth frame" in (closed.value.reason.reason or "")


async def test_admin_can_crash_an_actor_and_watch_it_restart(server: Server) -> None:
    admin = await server.auth_headers("test_streamer")
    response = await server.http.post(
        "/api/admin/actors/crash", json={"path": "/safestream/gifts"}, headers=admin
    )
    assert response.status_code == 200, response.text
    with trio.fail_after(5):
        while True:
            tree = (await server.http.get("/api/actors", headers=admin)).json()
            gifts = next(c for c in tree["children"] if c["name"] == "gifts")
            if gifts["restarts"] == 1:
                break
            await trio.sleep(0.05)
    assert gifts["last_error"]["type"] == "InjectedCrash"
    assert gifts["status"] == "running"
    missing = await server.http.post(
        "/api/admin/actors/crash", json={"path": "/safestream/nope"}, headers=admin
    )
    assert missing.status_code == 404
    viewer_headers = await server.auth_headers("demo_user")
    refused = await server.http.post(
        "/api/admin/actors/crash", json={"path": "/safestream/gifts"}, headers=viewer_headers
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("settings_overrides", [{"mode": "production"}])
async def test_fault_injection_is_off_in_production(server: Server) -> None:
    await server.register("boss")
    Database(server.settings.database_url, threads=1).run_sync(repo.set_role, "boss", "admin")
    response = await server.http.post(
        "/api/admin/actors/crash",
        json={"path": "/safestream/gifts"},
        headers=await server.auth_headers("boss"),
    )
    assert response.status_code == 404


async def test_a_mute_is_stored_and_holds_on_a_node_started_later(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    response = await server.http.post(
        "/api/admin/mute", json={"username": "demo_user", "duration_secs": 600}, headers=mod
    )
    assert response.status_code == 200
    async with running_server(server.settings) as second:
        async with viewer(second, "demo_user") as ann:
            await ann.next("history")
            await ann.chat("new node, same mute?")
            assert (await ann.next("error"))["code"] == "muted"
        unmute = await second.http.post(
            "/api/admin/unmute",
            json={"username": "demo_user"},
            headers=await second.auth_headers("test_streamer"),
        )
        assert unmute.status_code == 200
    async with running_server(server.settings) as third, viewer(third, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("free again")
        assert (await ann.next("chat"))["message"] == "free again"

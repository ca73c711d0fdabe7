"""End to end on a real server: auth, the original chat protocol, history, recovery."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from serverkit import Server, open_socket, viewer
from trio_websocket import ConnectionClosed, open_websocket_url

from safestream.chat.protocol import CloseCode
from safestream.store import repo


async def test_two_viewers_chat_with_the_original_frame_fields(server: Server) -> None:
    async with viewer(server, "demo_user") as ann, viewer(server, "chat_viewer") as bob:
        await ann.next("history")
        await bob.next("history")
        await ann.chat("hello everyone")
        frame = await bob.next("chat")
        assert frame["user"] == "demo_user"
        assert frame["message"] == "hello everyone"
        assert frame["toxic"] is False
        assert isinstance(frame["score"], float)
        assert isinstance(frame["id"], str) and len(frame["id"]) == 32
        assert isinstance(frame["ts"], str) and frame["ts"].endswith("+00:00")
        assert frame["room"] == "main" and frame["seq"] >= 1
        echoed = await ann.next("chat")
        assert echoed["id"] == frame["id"]


async def test_toxic_message_is_flagged_but_delivered_by_default_policy(server: Server) -> None:
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("you are an idiot")
        frame = await ann.next("chat")
        assert frame["toxic"] is True
        assert frame["score"] >= 0.6
        assert frame["action"] == "allow"


async def test_token_in_first_frame_is_accepted(server: Server) -> None:
    async with viewer(server, "demo_user", first_frame=True) as ann:
        history = await ann.next("history")
        assert history["room"] == "main"


async def test_rooms_are_separate(server: Server) -> None:
    async with (
        viewer(server, "demo_user", room="one") as ann,
        viewer(server, "chat_viewer", room="two") as bob,
    ):
        await ann.next("history")
        await bob.next("history")
        await ann.chat("only in one")
        await bob.chat("only in two")
        assert (await ann.next("chat"))["message"] == "only in one"
        assert (await bob.next("chat"))["message"] == "only in two"


async def test_history_on_join_and_recovery_with_since(server: Server) -> None:
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        for text in ("one", "two", "three"):
            await ann.chat(text)
        seqs = [(await ann.next("chat"))["seq"] for _ in range(3)]
    async with viewer(server, "chat_viewer") as bob:
        history = await bob.next("history")
        assert [m["message"] for m in history["messages"]][-3:] == ["one", "two", "three"]
        assert history["recovered"] is None
    async with viewer(server, "chat_viewer", since=seqs[0]) as bob:
        history = await bob.next("history")
        assert history["recovered"] is True
        assert [m["message"] for m in history["messages"]] == ["two", "three"]


async def test_since_beyond_the_room_says_it_cannot_recover(server: Server) -> None:
    async with viewer(server, "chat_viewer", since=10_000) as bob:
        history = await bob.next("history")
        assert history["recovered"] is False


async def test_bad_frames_get_error_frames_and_the_connection_stays(server: Server) -> None:
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.ws.send_message("not json")
        assert (await ann.next("error"))["code"] == "bad_json"
        await ann.send({"type": "dance"})
        assert (await ann.next("error"))["code"] == "unknown_type"
        await ann.send({"type": "chat", "message": "x" * 501})
        assert (await ann.next("error"))["code"] == "message_too_long"
        await ann.send({"type": "ping"})
        assert (await ann.next("pong"))["type"] == "pong"
        await ann.chat("still here")
        assert (await ann.next("chat"))["message"] == "still here"


async def test_bad_token_is_closed_with_policy_violation(server: Server) -> None:
    url = f"{server.ws_url}/ws/demo_user?token=not-a-token"
    async with open_socket(url) as ws:
        with trio.fail_after(5):
            try:
                await ws.get_message()
            except ConnectionClosed as closed:
                assert closed.reason.code == CloseCode.POLICY_VIOLATION
                assert "invalid token" in (closed.reason.reason or "")
            else:
                raise AssertionError("socket should have been closed")


async def test_token_for_another_user_is_refused(server: Server) -> None:
    token = await server.token("chat_viewer")
    async with open_socket(f"{server.ws_url}/ws/demo_user?token={token}") as ws:
        with trio.fail_after(5):
            try:
                await ws.get_message()
            except ConnectionClosed as closed:
                assert closed.reason.code == CloseCode.POLICY_VIOLATION
            else:
                raise AssertionError("socket should have been closed")


@pytest.mark.parametrize("settings_overrides", [{"max_connections": 1}])
async def test_max_connections_refuses_the_next_with_try_again_later(server: Server) -> None:
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        token = await server.token("chat_viewer")
        async with open_socket(f"{server.ws_url}/ws/chat_viewer?token={token}") as ws:
            with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
                await ws.get_message()
            assert closed.value.reason.code == CloseCode.TRY_AGAIN_LATER
            assert "node" in (closed.value.reason.reason or "")


@pytest.mark.parametrize("settings_overrides", [{"auth_timeout_secs": 0.2}])
async def test_no_auth_frame_in_time_is_closed(server: Server) -> None:
    async with open_socket(f"{server.ws_url}/ws/demo_user") as ws:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await ws.get_message()
        assert closed.value.reason.code == CloseCode.POLICY_VIOLATION


async def test_foreign_origin_is_refused(server: Server) -> None:
    token = await server.token("demo_user")
    url = f"{server.ws_url}/ws/demo_user?token={token}"
    async with open_websocket_url(url, extra_headers=[(b"Origin", b"http://evil.example")]) as ws:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await ws.get_message()
        assert closed.value.reason.code == CloseCode.POLICY_VIOLATION
        assert "origin" in (closed.value.reason.reason or "")
        await ws._stream.aclose()


@pytest.mark.parametrize("scheme", ["file://", "chrome-extension://", "null"])
async def test_an_origin_of_our_host_with_another_scheme_is_refused(
    server: Server, scheme: str
) -> None:
    token = await server.token("demo_user")
    host = server.ws_url.removeprefix("ws://")
    origin = "null" if scheme == "null" else f"{scheme}{host}"
    url = f"{server.ws_url}/ws/demo_user?token={token}"
    async with open_websocket_url(url, extra_headers=[(b"Origin", origin.encode())]) as ws:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await ws.get_message()
        assert closed.value.reason.code == CloseCode.POLICY_VIOLATION
        await ws._stream.aclose()


async def test_the_moderators_events_socket_checks_the_origin(server: Server) -> None:
    token = await server.token("test_streamer")
    url = f"{server.ws_url}/api/admin/events/ws?token={token}"
    async with open_websocket_url(url, extra_headers=[(b"Origin", b"http://evil.example")]) as ws:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await ws.get_message()
        assert closed.value.reason.code == CloseCode.POLICY_VIOLATION
        await ws._stream.aclose()


@pytest.mark.parametrize("settings_overrides", [{"max_connections_per_ip": 2}])
async def test_sockets_still_authenticating_count_toward_the_ip_cap(server: Server) -> None:
    url = f"{server.ws_url}/ws/demo_user"  # no token: each waits for its auth frame
    async with open_socket(url), open_socket(url), open_socket(url) as third:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await third.get_message()
        assert closed.value.reason.code == CloseCode.TRY_AGAIN_LATER
        assert "ip" in (closed.value.reason.reason or "")


async def test_register_login_me_and_errors(server: Server) -> None:
    http = server.http
    body = {"username": "newbie", "password": "correct horse", "email": "n@ex.org"}
    created = await http.post("/auth/register", json=body)
    assert created.status_code == 200 and created.json()["role"] == "viewer"
    assert (await http.post("/auth/register", json=body)).status_code == 409
    short = await http.post("/auth/register", json={**body, "username": "x2", "password": "short"})
    assert short.status_code == 422 and short.json()["error"] == "invalid_password"
    long = await http.post("/auth/register", json={**body, "username": "x3", "password": "é" * 37})
    assert long.status_code == 422  # 74 bytes: over bcrypt's 72
    bad_name = await http.post("/auth/register", json={**body, "username": "bad name"})
    assert bad_name.status_code == 422 and bad_name.json()["error"] == "invalid_username"
    not_json = await http.post("/auth/register", content=b"x")
    assert not_json.status_code == 415
    login = await http.post("/auth/login", data={"username": "newbie", "password": "correct horse"})
    token = login.json()["access_token"]
    assert login.json()["token_type"] == "bearer"
    me = await http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "newbie"
    wrong = await http.post("/auth/login", data={"username": "newbie", "password": "nope"})
    assert wrong.status_code == 401
    assert (await http.get("/auth/me")).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"login_attempts_per_minute": 3}])
async def test_login_attempts_are_throttled_per_username(server: Server) -> None:
    for _ in range(3):
        wrong = await server.http.post(
            "/auth/login", data={"username": "demo_user", "password": "nope"}
        )
        assert wrong.status_code == 401
    throttled = await server.http.post(
        "/auth/login", data={"username": "demo_user", "password": "demo_user"}
    )
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "too_many_attempts"
    assert int(throttled.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("settings_overrides", [{"max_connections": 1}])
async def test_a_room_that_fails_to_start_closes_1013_and_frees_the_slot(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ensure_room = repo.ensure_room

    def ensure_room(session: Any, name: str) -> Any:
        if name == "broken":
            raise RuntimeError("disk on fire")
        return real_ensure_room(session, name)

    monkeypatch.setattr(repo, "ensure_room", ensure_room)
    async with viewer(server, "demo_user", room="broken") as ann:
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            await ann.next()
        assert closed.value.reason.code == CloseCode.TRY_AGAIN_LATER
        assert "could not start" in (closed.value.reason.reason or "")
    # The node's only connection slot is free again: the next viewer gets in.
    async with viewer(server, "chat_viewer") as bob:
        assert (await bob.next("history"))["room"] == "main"

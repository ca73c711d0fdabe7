"""Issue 11's HTTP findings, each as the rule that now holds (a test per defect).

Bodies with lone surrogates are sent as raw bytes: `"\\ud800"` is valid JSON text but
not valid Unicode, which is exactly what an attacker sends.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy.exc
import trio
from serverkit import Server, viewer
from trio_websocket import ConnectionClosed

from safestream.chat.protocol import CloseCode
from safestream.store import repo
from safestream.store.database import Database

JSON = {"Content-Type": "application/json"}
SURROGATE = '"\\ud800"'
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Value error|Traceback")


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= {"detail", "error"}, body
    assert isinstance(body["detail"], str) and isinstance(body["error"], str)
    assert not EXCEPTION_NAME.search(body["detail"]), body["detail"]
    return body


def stored_user(server: Server, name: str) -> Any:
    return Database(server.settings.database_url, threads=1).run_sync(repo.get_user, name)


async def audit_rows(server: Server) -> list[dict[str, Any]]:
    mod = await server.auth_headers("test_streamer")
    rows: list[dict[str, Any]] = (await server.http.get("/api/admin/audit", headers=mod)).json()[
        "actions"
    ]
    return rows


# -- item 2: an action and its audit row together, or neither ----------------------------


async def test_mute_with_a_non_string_reason_is_refused_before_acting(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    response = await server.http.post(
        "/api/admin/mute", json={"username": "demo_user", "reason": {"x": 1}}, headers=mod
    )
    body = assert_error_shape(response, 422)
    assert "reason" in body["detail"]
    assert stored_user(server, "demo_user").muted_until is None
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("still allowed to talk")
        assert (await ann.next("chat"))["message"] == "still allowed to talk"
    assert await audit_rows(server) == []


async def test_unban_with_a_numeric_reason_is_refused_and_the_ban_holds(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    ban = await server.http.post("/api/admin/ban", json={"username": "demo_user"}, headers=mod)
    assert ban.status_code == 200, ban.text
    response = await server.http.post(
        "/api/admin/unban", json={"username": "demo_user", "reason": 12345}, headers=mod
    )
    assert "reason" in assert_error_shape(response, 422)["detail"]
    assert stored_user(server, "demo_user").banned_until is not None
    assert [row["action"] for row in await audit_rows(server)] == ["ban"]


@pytest.mark.parametrize("action", ["mute", "ban", "unban", "unmute"])
async def test_an_action_whose_audit_row_cannot_be_written_is_not_applied(
    server: Server, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    mod = await server.auth_headers("test_streamer")
    if action in ("unban", "unmute"):
        undo = {"unban": "ban", "unmute": "mute"}[action]
        done = await server.http.post(
            f"/api/admin/{undo}", json={"username": "demo_user"}, headers=mod
        )
        assert done.status_code == 200
    before = stored_user(server, "demo_user")

    def broken_insert(*args: Any, **kwargs: Any) -> None:
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(repo, "insert_batch", broken_insert)
    with trio.fail_after(15):
        response = await server.http.post(
            f"/api/admin/{action}", json={"username": "demo_user", "reason": "r"}, headers=mod
        )
    assert_error_shape(response, 503)
    after = stored_user(server, "demo_user")
    assert (after.muted_until, after.banned_until) == (before.muted_until, before.banned_until)
    monkeypatch.undo()
    # This node's in-memory view was not changed either: the chat socket agrees.
    if action == "unban":
        async with viewer(server, "demo_user") as ann:
            with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
                await ann.next()
            assert closed.value.reason.code == CloseCode.BANNED
        return
    async with viewer(server, "demo_user") as ann:
        await ann.next("history")
        await ann.chat("hello")
        if action == "unmute":
            assert (await ann.next("error"))["code"] == "muted"
        else:
            assert (await ann.next("chat"))["message"] == "hello"


# -- item 3: the original client registers and is logged in -------------------------------


async def test_register_answers_a_token_as_the_original_did(server: Server) -> None:
    response = await server.http.post(
        "/auth/register",
        json={"username": "newcomer", "password": "correct horse", "email": "n@ex.org"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["username"] == "newcomer"
    me = await server.http.get(
        "/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["username"] == "newcomer"
    # The browser client sends an empty e-mail field as "": no address, not an error.
    no_email = await server.http.post(
        "/auth/register", json={"username": "quiet", "password": "correct horse", "email": ""}
    )
    assert no_email.status_code == 200 and no_email.json()["email"] is None


# -- item 6: banned and muted users, gift bounds, rate, sender, rooms ----------------------


async def test_a_banned_user_cannot_gift(server: Server) -> None:
    headers = await server.auth_headers("demo_user")
    mod = await server.auth_headers("test_streamer")
    await server.http.post("/api/admin/ban", json={"username": "demo_user"}, headers=mod)
    async with viewer(server, "chat_viewer") as bob:
        await bob.next("history")
        response = await server.http.post("/api/gift", json={"gift_id": 1}, headers=headers)
        assert assert_error_shape(response, 403)["error"] == "banned"
    assert (await server.http.get("/api/gifts/top")).json()["top"] == []


async def test_a_muted_user_cannot_gift(server: Server) -> None:
    headers = await server.auth_headers("demo_user")
    mod = await server.auth_headers("test_streamer")
    await server.http.post("/api/admin/mute", json={"username": "demo_user"}, headers=mod)
    async with viewer(server, "chat_viewer") as bob:
        await bob.next("history")
        response = await server.http.post("/api/gift", json={"gift_id": 1}, headers=headers)
        assert assert_error_shape(response, 403)["error"] == "muted"


@pytest.mark.parametrize("amount", [0, -1, 1001, 10_000, 2**70, 1.5, True, "5"])
async def test_gift_amount_outside_1_to_1000_is_refused(server: Server, amount: Any) -> None:
    headers = await server.auth_headers("demo_user")
    async with viewer(server, "chat_viewer") as bob:
        await bob.next("history")
        response = await server.http.post(
            "/api/gift", json={"gift_id": 1, "amount": amount}, headers=headers
        )
        assert "amount" in assert_error_shape(response, 422)["detail"]


@pytest.mark.parametrize("settings_overrides", [{"gifts_per_minute": 2}])
async def test_gifts_are_rate_limited_per_user(server: Server) -> None:
    headers = await server.auth_headers("demo_user")
    async with viewer(server, "chat_viewer") as bob:
        await bob.next("history")
        for _ in range(2):
            ok = await server.http.post("/api/gift", json={"gift_id": 1}, headers=headers)
            assert ok.status_code == 200, ok.text
        refused = await server.http.post("/api/gift", json={"gift_id": 1}, headers=headers)
        assert assert_error_shape(refused, 429)["error"] == "too_many_gifts"
        assert int(refused.headers["Retry-After"]) >= 1
        other = await server.http.post(
            "/api/gift", json={"gift_id": 1}, headers=await server.auth_headers("chat_viewer")
        )
        assert other.status_code == 200


async def test_the_gift_sender_is_the_account_even_for_a_moderator(server: Server) -> None:
    mod = await server.auth_headers("test_streamer")
    async with viewer(server, "chat_viewer") as bob:
        await bob.next("history")
        response = await server.http.post(
            "/api/gift", json={"gift_id": 2, "from": "<b>demo_user</b>"}, headers=mod
        )
        assert response.status_code == 200, response.text
        assert (await bob.next("gift"))["from"] == "test_streamer"


async def test_a_gift_to_a_room_that_is_not_running_is_404_and_creates_nothing(
    server: Server,
) -> None:
    headers = await server.auth_headers("demo_user")
    for n in range(3):
        response = await server.http.post(
            "/api/gift", json={"gift_id": 1, "room": f"nowhere{n}"}, headers=headers
        )
        assert assert_error_shape(response, 404)["error"] == "room_not_found"
    rooms = (await server.http.get("/api/rooms")).json()["rooms"]
    assert not [room for room in rooms if room["name"].startswith("nowhere")]
    assert (await server.http.get("/metrics")).json()["gift_count"] == 0


# -- items 1 and 7: malformed input answers 4xx in our shape -------------------------------


def raw(template: str) -> bytes:
    return template.replace("@S", SURROGATE).encode()


SURROGATE_BODIES = [
    ("/auth/register", '{"username":@S,"password":"correct horse"}'),
    ("/auth/register", '{"username":"ann2","password":@S}'),
    ("/auth/register", '{"username":"ann3","password":"correct horse","email":@S}'),
    ("/auth/login", '{"username":@S,"password":"x"}'),
    ("/api/admin/mute", '{"username":"demo_user","reason":@S}'),
    ("/api/admin/kick", '{"username":@S}'),
    ("/api/admin/ban", '{"username":"demo_user","reason":"a\\ud800b"}'),
    ("/api/admin/messages/0/delete", '{"reason":@S}'),
    ("/api/gift", '{"gift_id":1,"room":@S}'),
]


@pytest.mark.parametrize(("path", "body"), SURROGATE_BODIES)
async def test_a_lone_surrogate_in_a_body_is_422(server: Server, path: str, body: str) -> None:
    headers = {**JSON, **(await server.auth_headers("test_streamer"))}
    response = await server.http.post(path, content=raw(body), headers=headers)
    assert_error_shape(response, 422)


async def test_a_lone_surrogate_in_a_policy_is_422(server: Server) -> None:
    headers = {**JSON, **(await server.auth_headers("test_streamer"))}
    for body in ('{"blocked_terms":[@S]}', '{"thresholds":{@S:0.5}}'):
        response = await server.http.put(
            "/api/admin/rooms/main/policy", content=raw(body), headers=headers
        )
        assert_error_shape(response, 422)


@pytest.mark.parametrize("depth", [100, 5_000, 30_000])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/auth/register"),
        ("POST", "/auth/login"),
        ("POST", "/api/gift"),
        ("POST", "/api/admin/mute"),
        ("PUT", "/api/admin/rooms/main/policy"),
    ],
)
async def test_deeply_nested_json_is_a_client_error(
    server: Server, method: str, path: str, depth: int
) -> None:
    headers = {**JSON, **(await server.auth_headers("test_streamer"))}
    body = '{"username":' + "[" * depth + "]" * depth + "}"
    response = await server.http.request(method, path, content=body.encode(), headers=headers)
    assert response.status_code in (400, 422), response.text
    assert_error_shape(response, response.status_code)


@pytest.mark.parametrize(
    "email",
    ["a@ex.org\r\nBcc: all@ex.org", "a\n@ex.org", "<script>x</script>@ex.org", 'a"b@ex.org'],
)
async def test_register_refuses_an_email_with_line_breaks_or_markup(
    server: Server, email: str
) -> None:
    response = await server.http.post(
        "/auth/register", json={"username": "mallory", "password": "correct horse", "email": email}
    )
    assert "email" in assert_error_shape(response, 422)["detail"]


async def test_bodies_that_are_not_json_objects_get_our_error_shape(server: Server) -> None:
    headers = await server.auth_headers("test_streamer")
    not_json = await server.http.post("/api/admin/kick", content=b"username=x", headers=headers)
    assert assert_error_shape(not_json, 415)["error"] == "unsupported_media_type"
    broken = await server.http.post(
        "/api/admin/kick", content=b'{"username": ', headers={**JSON, **headers}
    )
    assert assert_error_shape(broken, 400)["error"] == "bad_json"
    nan = await server.http.post(
        "/api/admin/mute",
        content=b'{"username":"demo_user","duration_secs":NaN}',
        headers={**JSON, **headers},
    )
    assert nan.status_code in (400, 422)
    assert_error_shape(nan, nan.status_code)
    huge = await server.http.post(
        "/api/admin/kick",
        content=b'{"reason":"' + b"x" * 70_000 + b'"}',
        headers={**JSON, **headers},
    )
    assert_error_shape(huge, 413)
    latin1 = await server.http.post(
        "/api/admin/kick", content='{"username":"é"}'.encode("latin-1"), headers={**JSON, **headers}
    )
    assert assert_error_shape(latin1, 400)["error"] == "bad_json"
    a_list = await server.http.post("/api/admin/kick", json=[1], headers=headers)
    assert_error_shape(a_list, 422)


async def test_a_bad_query_argument_names_the_argument(server: Server) -> None:
    headers = await server.auth_headers("test_streamer")
    response = await server.http.get("/api/admin/audit?limit=abc", headers=headers)
    body = assert_error_shape(response, 422)
    assert body["error"] == "invalid_query" and "limit" in body["detail"]


async def test_a_malformed_message_id_is_404_before_the_database(server: Server) -> None:
    headers = await server.auth_headers("test_streamer")
    for verb in ("held/a%00b/approve", "held/%F0%9F%98%80/reject", "messages/x%0Ay/delete"):
        response = await server.http.post(f"/api/admin/{verb}", headers=headers)
        assert assert_error_shape(response, 404)["error"] == "message_not_found"


@pytest.mark.parametrize("path", ["//chat", "//evil.example/", "/ui//js/app.js", "/auth/me/"])
async def test_redirects_never_reflect_the_host_header(server: Server, path: str) -> None:
    response = await server.http.get(path, headers={"Host": "evil.example"})
    assert "evil.example" not in response.headers.get("location", ""), response.headers
    assert response.status_code < 500

"""The dashboard's API client, SSE parser and live feed against a fake app (MockTransport)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dashboard.client import ApiClient, ApiError, SseEvent, parse_sse
from dashboard.live import LiveFeed

TREE = {"name": "safestream", "path": "/safestream", "status": "running", "children": []}
METRICS = {"messages_total": 3, "toxic_total": 1, "viewer_count": 2, "gift_count": 0}


def test_parse_sse_joins_data_lines_skips_comments_and_incomplete_events() -> None:
    lines = [
        ": connected",
        "",
        "event: snapshot",
        'data: {"a":',
        "data:  1}",
        "",
        "data: plain",
        "id: 7",
        "",
        "event: dangling",
        "data: never ended",
    ]
    events = list(parse_sse(lines))
    assert events == [SseEvent("snapshot", '{"a":\n 1}'), SseEvent("message", "plain", "7")]
    assert events[0].json() == {"a": 1}


def fake_app(
    requests: list[httpx.Request], *, events: bool = True, token: str = "tok"
) -> httpx.MockTransport:
    """The subset of the app API the dashboard uses, requiring `Bearer tok` on /api."""

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.path
        if path == "/auth/login":
            form = dict(x.split("=") for x in request.content.decode().split("&"))
            if form["password"] != form["username"]:
                return httpx.Response(401, json={"detail": "bad credentials", "error": "login"})
            role = "admin" if form["username"] == "test_streamer" else "viewer"
            return httpx.Response(
                200, json={"access_token": token, "role": role, "username": form["username"]}
            )
        if path == "/metrics":
            return httpx.Response(200, json=METRICS)
        if request.headers.get("Authorization") != f"Bearer {token}":
            return httpx.Response(401, json={"detail": "token expired", "error": "unauthorized"})
        if path == "/api/actors/stream":
            body = f": hi\n\nevent: snapshot\ndata: {json.dumps(TREE)}\n\n"
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        if path == "/api/admin/events" and events:
            body = 'event: message\ndata: {"id": "m9", "user": "ann"}\n\n'
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        if path == "/api/admin/messages":
            return httpx.Response(200, json={"messages": [{"id": "m1", "user": "ann"}]})
        if path == "/api/admin/held":
            return httpx.Response(200, json={"held": []})
        if path == "/api/admin/actors/crash":
            target = json.loads(request.content)["path"]
            if target != "/safestream/gifts":
                detail = f"no running actor at {target!r}"
                return httpx.Response(404, json={"detail": detail, "error": "actor_not_found"})
            return httpx.Response(200, json={"status": "crash sent", "path": target})
        if path == "/api/admin/mute":
            return httpx.Response(200, json={"status": "muted", **json.loads(request.content)})
        if path == "/api/rooms":
            return httpx.Response(200, json={"rooms": [{"name": "main", "viewers": 1, "seq": 3}]})
        if path == "/api/gifts/top":
            return httpx.Response(200, json={"top": [{"user": "ann", "amount": 5}]})
        return httpx.Response(404, json={"detail": "not found", "error": "not_found"})

    return httpx.MockTransport(handler)


async def test_client_logs_in_and_sends_the_token_with_later_calls() -> None:
    requests: list[httpx.Request] = []
    async with ApiClient("http://app/", transport=fake_app(requests)) as api:
        login = await api.login("test_streamer", "test_streamer")
        assert login.is_moderator
        answer = await api.sanction("mute", "troll", duration_secs=60, reason="")
    assert answer == {"status": "muted", "username": "troll", "duration_secs": 60}
    assert requests[-1].headers["Authorization"] == "Bearer tok"
    assert requests[-1].url.path == "/api/admin/mute"


async def test_client_raises_api_error_with_the_apps_detail() -> None:
    async with ApiClient("http://app", transport=fake_app([])) as api:
        with pytest.raises(ApiError) as info:
            await api.login("test_streamer", "wrong")
    assert (info.value.status, info.value.error, info.value.detail) == (
        401,
        "login",
        "bad credentials",
    )


async def test_client_drops_empty_query_parameters() -> None:
    requests: list[httpx.Request] = []
    async with ApiClient("http://app", "tok", transport=fake_app(requests)) as api:
        await api.messages(user="ann", room=None, toxic_only=True)
    assert dict(requests[-1].url.params) == {"user": "ann", "toxic_only": "1", "limit": "200"}


async def test_client_reports_an_unreachable_app_as_status_zero() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with ApiClient("http://app", transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(ApiError) as info:
            await api.metrics()
    assert info.value.status == 0


async def test_client_crashes_an_actor_and_reports_the_apps_refusal() -> None:
    requests: list[httpx.Request] = []
    async with ApiClient("http://app", "tok", transport=fake_app(requests)) as api:
        answer = await api.crash_actor("/safestream/gifts")
        assert answer == {"status": "crash sent", "path": "/safestream/gifts"}
        assert requests[-1].method == "POST"
        assert requests[-1].url.path == "/api/admin/actors/crash"
        assert json.loads(requests[-1].content) == {"path": "/safestream/gifts"}
        assert requests[-1].headers["Authorization"] == "Bearer tok"
        with pytest.raises(ApiError) as info:
            await api.crash_actor("/safestream/nobody")
        assert (info.value.status, info.value.error) == (404, "actor_not_found")
        assert info.value.detail == "no running actor at '/safestream/nobody'"
        sent = len(requests)
        with pytest.raises(ValueError):
            await api.crash_actor("gifts")
        assert len(requests) == sent  # refused before any request


async def test_client_streams_sse_events() -> None:
    async with ApiClient("http://app", "tok", transport=fake_app([])) as api:
        events = [e async for e in api.stream("/api/actors/stream")]
    assert [e.json() for e in events] == [TREE]


async def test_stream_runs_on_open_after_the_server_accepted_and_before_events() -> None:
    requests: list[httpx.Request] = []
    seen: list[str] = []
    async with ApiClient("http://app", "tok", transport=fake_app(requests)) as api:

        async def starting_state() -> None:
            seen.append(f"opened after {[r.url.path for r in requests]}")

        async for event in api.stream("/api/admin/events", on_open=starting_state):
            seen.append(f"event {event.json()['id']}")
    assert seen == ["opened after ['/api/admin/events']", "event m9"]


def collect(
    transport: httpx.MockTransport, until: Callable[[dict[str, list[Any]]], bool]
) -> dict[str, list[Any]]:
    """Run a LiveFeed until `until(items)` holds (or 10 s pass); its items by kind."""
    items: dict[str, list[Any]] = {}
    done = threading.Event()
    lock = threading.Lock()

    def sink(kind: str, data: Any) -> None:
        with lock:
            items.setdefault(kind, []).append(data)
            if until(items):
                done.set()

    feed = LiveFeed("http://app", "tok", sink, metrics_interval=0.05, poll_interval=0.05,
                    transport=transport)  # fmt: skip
    feed.start()
    try:
        assert done.wait(10), f"feed did not deliver: {sorted(items)}"
    finally:
        feed.stop()
    assert not feed.running
    return items


def test_live_feed_pushes_tree_metrics_messages_and_events() -> None:
    kinds = ("tree", "metrics", "messages", "message", "gifts")
    items = collect(fake_app([]), lambda i: all(k in i for k in kinds))
    assert items["tree"][0] == TREE
    t, metrics = items["metrics"][0]
    assert metrics == METRICS and t > 0
    assert items["messages"][0] == [{"id": "m1", "user": "ann"}]
    assert items["message"][0] == {"id": "m9", "user": "ann"}
    assert items["gifts"][0] == [{"user": "ann", "amount": 5}]


def test_live_feed_polls_when_the_app_has_no_events_stream() -> None:
    items = collect(fake_app([], events=False), lambda i: len(i.get("messages", [])) >= 3)
    assert "message" not in items
    assert items["held"][0] == []


def test_live_feed_reports_a_refused_token_and_stops() -> None:
    done = threading.Event()
    seen: list[tuple[str, Any]] = []

    def sink(kind: str, data: Any) -> None:
        seen.append((kind, data))
        if kind == "auth":
            done.set()

    feed = LiveFeed("http://app", "stale", sink, transport=fake_app([]))
    feed.start()
    assert done.wait(10)
    feed.stop()
    assert not feed.running
    assert ("auth", "token expired") in seen


def test_a_live_feed_stopped_before_it_started_never_runs() -> None:
    """A session can close before its feed thread starts: the feed must not outlive it."""
    seen: list[str] = []
    feed = LiveFeed("http://app", "tok", lambda kind, data: seen.append(kind),
                    metrics_interval=0.01, transport=fake_app([]))  # fmt: skip
    feed.stop()
    feed.start()
    try:
        deadline = time.monotonic() + 5  # a correct feed ends at once; a wrong one never
        while feed.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not feed.running
        assert seen == []
    finally:
        feed.stop()

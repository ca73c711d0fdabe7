"""Chaos-test helpers: a `safestream serve` child process and HTTP access to it, waits
for states (never fixed sleeps), a database lock from outside, a one-shot socket probe.

Chat clients that keep the books on acknowledged messages are in `chatpeers`.

Example:
    async with running_node(tmp_path, MESSAGES_PER_SECOND="50") as node:
        await node.admin("POST", "/api/admin/actors/crash", {"path": "/safestream/gifts"})
        await wait_for_check(node.healthy, what="the node answers /health")
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio
from conftest import AppProcess, free_port
from trio_websocket import ConnectionClosed, HandshakeError

from safestream.chat_client import open_chat_socket

WAIT_SECS = 30.0
POLL_SECS = 0.05
PASSWORD = "correct horse battery"


async def wait_until(
    predicate: Callable[[], bool], *, what: str | Callable[[], str], secs: float = WAIT_SECS
) -> None:
    """Check `predicate` every POLL_SECS until it holds; fail naming `what` (or what it
    returns then) after `secs`.

    Polling, not an Event: the states waited for live in a server process and in
    several client tasks at once.
    """
    with trio.move_on_after(secs):
        while True:
            if predicate():
                return
            await trio.sleep(POLL_SECS)
    raise AssertionError(
        f"timed out after {secs:.0f}s waiting for: {what() if callable(what) else what}"
    )


async def wait_for_check(
    check: Callable[[], Awaitable[bool]], *, what: str, secs: float = WAIT_SECS
) -> None:
    """`wait_until` for a check that must ask the server (an HTTP request)."""
    with trio.move_on_after(secs):
        while True:
            if await check():
                return
            await trio.sleep(POLL_SECS)
    raise AssertionError(f"timed out after {secs:.0f}s waiting for: {what}")


@dataclass
class Node:
    """HTTP access to one `safestream serve` process (a new connection per request, so a
    restarted process on the same port is just reached again)."""

    app: AppProcess
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.app.url.replace("http://", "ws://")

    async def request(
        self, method: str, path: str, *, user: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        async with httpx.AsyncClient(base_url=self.app.url, timeout=10) as http:
            return await http.request(method, path, headers=headers, **kwargs)

    async def login(self, user: str, password: str | None = None) -> str:
        data = {"username": user, "password": password or user}
        response = await self.request("POST", "/auth/login", data=data)
        assert response.status_code == 200, response.text
        self.tokens[user] = response.json()["access_token"]
        return self.tokens[user]

    async def register(self, user: str) -> str:
        body = {"username": user, "password": PASSWORD, "email": f"{user}@example.org"}
        response = await self.request("POST", "/auth/register", json=body)
        assert response.status_code == 200, response.text
        return await self.login(user, PASSWORD)

    async def admin(self, method: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """An admin route as the demo admin; fails unless it answers 200."""
        response = await self.request(method, route, user="test_streamer", json=body)
        assert response.status_code == 200, f"{route}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def healthy(self) -> bool:
        try:
            response = await self.request("GET", "/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json() == {"status": "ok"}

    async def actors(self) -> dict[str, Any]:
        response = await self.request("GET", "/api/actors", user="test_streamer")
        assert response.status_code == 200, response.text
        tree: dict[str, Any] = response.json()
        return tree

    async def history(self, room: str) -> list[dict[str, Any]]:
        """Every visible message of `room`, oldest first (paged by `after_seq`)."""
        messages: list[dict[str, Any]] = []
        while True:
            after = messages[-1]["seq"] if messages else 0
            response = await self.request(
                "GET",
                f"/api/rooms/{room}/history",
                user="test_streamer",
                params={"after_seq": after, "limit": 500},
            )
            assert response.status_code == 200, response.text
            page = response.json()["messages"]
            messages.extend(page)
            if len(page) < 500:
                return messages


@asynccontextmanager
async def running_node(data_dir: Path, **env: str) -> AsyncIterator[Node]:
    """A `safestream serve` child process (demo mode, SQLite in `data_dir`), logged in as
    the demo admin, stopped (SIGINT, then killed) at the end."""
    app = AppProcess(data_dir=data_dir, port=free_port(), extra_env=env)
    await trio.to_thread.run_sync(app.start)
    try:
        node = Node(app)
        await node.login("test_streamer")
        yield node
    finally:
        await trio.to_thread.run_sync(app.stop)


class DatabaseLock:
    """An exclusive lock on the node's SQLite file, taken by another connection (as a
    long migration or a backup would): the node's writes wait on its busy timeout, then
    fail with `database is locked`. Reads go on (WAL)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)

    async def hold(self) -> None:
        await trio.to_thread.run_sync(self._db.execute, "BEGIN EXCLUSIVE")

    async def release(self) -> None:
        await trio.to_thread.run_sync(self._db.execute, "COMMIT")
        self._db.close()


async def probe(node: Node, user: str) -> str:
    """One new chat socket: "refused" (no TCP/WebSocket), "closed <code>" before joining,
    or "joined" (a history frame came)."""
    url = f"{node.ws_url}/ws/{user}?room=main"
    try:
        with trio.fail_after(WAIT_SECS):
            return await _probe(url, node.tokens[user])
    except (OSError, HandshakeError):
        return "refused"
    except ConnectionClosed as exc:
        return f"closed {int(exc.reason.code)}"


async def _probe(url: str, token: str) -> str:
    async with open_chat_socket(url) as ws:
        await ws.send_message(json.dumps({"type": "auth", "token": token}))
        while json.loads(await ws.get_message())["type"] != "history":
            pass
        return "joined"


def walk(node: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every node of an `/api/actors` snapshot."""
    yield node
    for child in node.get("children", []):
        yield from walk(child)


def find_actor(tree: dict[str, Any], path: str) -> dict[str, Any] | None:
    return next((node for node in walk(tree) if node["path"] == path), None)

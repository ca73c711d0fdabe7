"""Helpers for server tests: settings, a client-side view of the server, chat viewers."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio
from trio_websocket import WebSocketConnection

from safestream.accounts.auth import hash_password
from safestream.chat_client import open_chat_socket
from safestream.moderation.classifiers import Classifier, KeywordClassifier
from safestream.node import serve
from safestream.settings import Settings
from safestream.store import repo
from safestream.store.database import Database

SECRET = "test-secret-" + "x" * 40


@dataclass
class Server:
    url: str
    settings: Settings
    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    async def token(self, username: str, password: str | None = None) -> str:
        if username not in self.tokens:
            response = await self.http.post(
                "/auth/login", data={"username": username, "password": password or username}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    async def register(self, username: str, password: str = "correct horse") -> str:
        response = await self.http.post(
            "/auth/register",
            json={"username": username, "password": password, "email": f"{username}@ex.org"},
        )
        assert response.status_code == 200, response.text
        return await self.token(username, password)

    async def auth_headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}


@asynccontextmanager
async def running_server(
    settings: Settings, classifier: Classifier | None = None
) -> AsyncIterator[Server]:
    """A real node on a free port in this Trio run (the keyword model unless another is
    given), stopped orderly at the end."""
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            partial(
                serve,
                settings,
                bind="127.0.0.1:0",
                classifier=classifier or KeywordClassifier(),
                shutdown=shutdown,
                handle_signals=False,
            )
        )
        url = next(u for u in urls if u.startswith("http://127.0.0.1"))
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield Server(url=url, settings=settings, http=http)
        shutdown.set()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "demo",
        "jwt_secret_key": SECRET,
        "database_url": f"sqlite:///{tmp_path}/safestream.db",
        "data_dir": str(tmp_path),
        "bcrypt_rounds": 4,
        "login_attempts_per_minute": 10000,
        "gift_interval_secs": 0.0,
        "moderation_model": "keyword",
        "auth_timeout_secs": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


class Viewer:
    """A WebSocket chat client that keeps every frame it received."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_message(json.dumps(frame))

    async def chat(self, text: str) -> None:
        await self.send({"type": "chat", "message": text})

    async def next(self, kind: str | None = None, wait: float = 5.0) -> dict[str, Any]:
        """The next frame (of `kind`, skipping others), failing after `wait` seconds."""
        with trio.fail_after(wait):
            while True:
                frame = json.loads(await self.ws.get_message())
                self.frames.append(frame)
                if kind is None or frame["type"] == kind:
                    return frame


def open_socket(url: str) -> AbstractAsyncContextManager[WebSocketConnection]:
    """A client socket that closes cleanly (see `open_chat_socket`)."""
    return open_chat_socket(url)


@asynccontextmanager
async def viewer(
    server: Server,
    username: str,
    *,
    room: str = "main",
    since: int | None = None,
    token: str | None = None,
    first_frame: bool = False,
) -> AsyncIterator[Viewer]:
    """A connected viewer; the token goes in ?token= (original) or a first auth frame."""
    token = token or await server.token(username)
    query = f"?room={room}"
    if since is not None:
        query += f"&since={since}"
    if not first_frame:
        query += f"&token={token}"
    async with open_socket(f"{server.ws_url}/ws/{username}{query}") as ws:
        client = Viewer(ws)
        if first_frame:
            await client.send({"type": "auth", "token": token})
        yield client


class RawStream:
    """A streaming HTTP GET read as raw text (for Server-Sent Events).

    httpx's nested async generators warn under Trio when a stream is abandoned, so tests
    read event streams over a plain TCP connection instead.
    """

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream
        self.text = ""

    async def read_until(self, needle: str, wait: float = 5.0) -> str:
        with trio.fail_after(wait):
            while needle not in self.text:
                chunk = await self._stream.receive_some(65536)
                if not chunk:
                    raise EOFError(f"stream ended before {needle!r}")
                self.text += chunk.decode("utf-8", "replace")
        return self.text


@asynccontextmanager
async def raw_get(server: Server, path: str, headers: dict[str, str]) -> AsyncIterator[RawStream]:
    host, port = server.url.removeprefix("http://").split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
        yield RawStream(stream)


@dataclass
class ThreadedServer:
    """A real node in its own thread and Trio run, for synchronous clients (fuzzers).

    Runs in production mode (no demo accounts, no fault injection), as an attacker
    would meet it, with an admin and a viewer account made for the test.
    """

    url: str
    settings: Settings
    admin_token: str

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


FUZZ_ADMIN = ("fuzz_admin", "fuzz admin password")
FUZZ_VIEWER = ("fuzz_viewer", "fuzz viewer password")


@contextmanager
def server_in_thread(tmp_path: Path, **overrides: Any) -> Iterator[ThreadedServer]:
    """Start `serve` in a thread with its own `trio.run`; stop it orderly on exit."""
    settings = make_settings(tmp_path, **{"mode": "production", **overrides})
    handoff: queue.Queue[Any] = queue.Queue()

    async def main() -> None:
        shutdown = trio.Event()
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(
                partial(
                    serve,
                    settings,
                    bind="127.0.0.1:0",
                    classifier=KeywordClassifier(),
                    shutdown=shutdown,
                    handle_signals=False,
                )
            )
            handoff.put((urls, trio.lowlevel.current_trio_token(), shutdown))

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:
            handoff.put(exc)
            raise

    thread = threading.Thread(target=run, name="fuzz-server", daemon=True)
    thread.start()
    started = handoff.get(timeout=60)
    if isinstance(started, BaseException):
        raise started
    urls, token, shutdown = started
    try:
        db = Database(settings.database_url, threads=1)
        for (name, password), role in ((FUZZ_ADMIN, "admin"), (FUZZ_VIEWER, "viewer")):
            hashed = hash_password(password, rounds=4)
            db.run_sync(repo.create_user, name, f"{name}@ex.org", hashed, role)
        db.dispose()
        url = next(u for u in urls if u.startswith("http://127.0.0.1"))
        login = httpx.post(
            f"{url}/auth/login", data={"username": FUZZ_ADMIN[0], "password": FUZZ_ADMIN[1]}
        )
        login.raise_for_status()
        yield ThreadedServer(url=url, settings=settings, admin_token=login.json()["access_token"])
    finally:
        trio.from_thread.run_sync(shutdown.set, trio_token=token)
        thread.join(timeout=30)

"""Helpers for the dashboard end-to-end tests: the dashboard process, a chat author, login.

`DashboardProcess` runs `python -m safestream.cli dashboard` against an app URL on a free
port and waits until it answers. `chat(app_url, user, token, text)` sends one chat
message over the real WebSocket and returns the server's answer to it (the echoed chat,
held/blocked notice, or an error frame such as `{"type":"error","code":"muted"}`).
`log_in(page, dashboard_url, username)` logs a moderator in through the dashboard's form.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio
from trio_websocket import open_websocket_url

START_TIMEOUT_SECS = 120.0
ANSWER_TYPES = ("chat", "held", "blocked", "error")


@dataclass
class DashboardProcess:
    """`safestream dashboard` as a child process, talking to `app_url`."""

    app_url: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "SAFESTREAM_MODE": "demo",  # no JWT secret needed: the dashboard never signs
                "SAFESTREAM_URL": self.app_url,
                "DASH_PORT": str(self.port),
                "APP_HOST": "127.0.0.1",
            }
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "safestream.cli", "dashboard"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dashboard exited early:\n{self.log.read_text()[-3000:]}")
            # Each GET of the page builds a whole Panel session, which takes seconds on a
            # busy machine: wait for the port first, then allow one slow first render.
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
            except OSError:
                time.sleep(0.3)
                continue
            try:
                if httpx.get(self.url, timeout=60).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()  # never leave a half-started child behind (nor its Popen to warn)
        raise RuntimeError(f"dashboard did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running_dashboard(app_url: str, port: int, log: Path) -> Iterator[DashboardProcess]:
    """A started dashboard for `app_url` on `port`, stopped when the block ends."""
    dash = DashboardProcess(app_url, port, log)
    dash.start()
    try:
        yield dash
    finally:
        dash.stop()


def tab(page: Any, name: str) -> None:
    """Open the dashboard's tab `name`."""
    page.locator(".bk-tab", has_text=name).click()


def chat(app_url: str, user: str, token: str, text: str, timeout: float = 10.0) -> dict[str, Any]:
    """Send `text` as `user` in room main; the first frame that answers it."""

    async def run() -> dict[str, Any]:
        with trio.fail_after(timeout):
            return await _chat(app_url, user, token, text)

    return trio.run(run)


async def _chat(app_url: str, user: str, token: str, text: str) -> dict[str, Any]:
    url = f"{app_url.replace('http://', 'ws://')}/ws/{user}?room=main&token={token}"
    async with open_websocket_url(url) as ws:
        await ws.send_message(json.dumps({"type": "chat", "message": text}))
        while True:
            frame = json.loads(await ws.get_message())
            if frame.get("type") == "error":
                return dict(frame)
            # History comes as one "history" frame, so a chat from `user` is our echo.
            if frame.get("type") in ANSWER_TYPES and frame.get("user") == user:
                return dict(frame)


def log_in(page: Any, dashboard_url: str, username: str) -> None:
    """Open the dashboard and log in as moderator `username` (password = username)."""
    page.goto(dashboard_url)
    page.get_by_placeholder("username").fill(username)
    page.get_by_placeholder("password").fill(username)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name=f"Log out {username}").wait_for(timeout=30_000)

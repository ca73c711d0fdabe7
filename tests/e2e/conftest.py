"""End-to-end fixtures: the real `safestream serve` process and Debian's Chromium.

`app_server` starts the server as its own process on a free port with a fresh SQLite
database (demo mode, so the demo accounts exist), waits until `/health` answers, and
stops it at the end. `browser` launches `/usr/bin/chromium` through Playwright (never a
downloaded browser) with a fake camera. Under CI=true a missing Chromium fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
START_TIMEOUT_SECS = 60.0
REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_command() -> list[str]:
    """`safestream serve` run by this interpreter, from the code under test."""
    return [sys.executable, "-m", "safestream.cli", "serve"]


@dataclass
class AppProcess:
    """A `safestream serve` child process; `restart()` keeps its port and database.

    `command` and `cwd` default to this interpreter in the current directory; the wheel
    test gives an installed `safestream` script and a directory outside the repository.
    """

    data_dir: Path
    port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=serve_command)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.command == serve_command():
            # Serve this checkout's code, whatever the directory or an installed copy says.
            paths = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
            env["PYTHONPATH"] = os.pathsep.join(paths)
        env.update(
            {
                "SAFESTREAM_MODE": "demo",
                "DATA_DIR": str(self.data_dir),
                "DATABASE_URL": f"sqlite:///{self.data_dir}/e2e.db",
                "APP_HOST": "127.0.0.1",
                "APP_PORT": str(self.port),
                "BCRYPT_ROUNDS": "4",
                "LOGIN_ATTEMPTS_PER_MINUTE": "10000",
                "GIFT_INTERVAL_SECS": "0",
                "MODERATION_MODEL": "keyword",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        self.log = self.data_dir / "server.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env(),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()  # never leave a half-started server (or its Popen) behind
            raise

    def _wait_healthy(self) -> None:
        assert self.process is not None and self.log is not None
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 20) -> int | None:
        """Send `signum`, wait up to `timeout` seconds, then kill; the exit code (None when
        never started). A server stopped cleanly by SIGINT or SIGTERM exits with 0."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def token(self, username: str, password: str | None = None) -> str:
        response = httpx.post(
            f"{self.url}/auth/login", data={"username": username, "password": password or username}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppProcess]:
    app = AppProcess(data_dir=tmp_path, port=free_port())
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A Playwright Chromium browser (Debian's binary), shared by a module's tests and
    closed after them: while Playwright's sync API is open its asyncio loop stays this
    thread's running loop, which breaks trio-asyncio (the brokers) in any later test."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (tests/services.sh installs it)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    # Importing trio-asyncio (the Redis/NATS brokers, in earlier tests of this session)
    # makes asyncio.new_event_loop() build its synchronous Trio loop, which Playwright's
    # sync API cannot run on. Outside Trio it defers to an explicitly set policy: set
    # while Playwright makes its own loop, then given back.
    policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    try:
        playwright_manager = sync_playwright()
        playwright = playwright_manager.__enter__()
    finally:
        asyncio.set_event_loop_policy(policy)
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright_manager.__exit__(None, None, None)

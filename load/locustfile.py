"""Locust load test of SafeStream chat: users who log in, join a room and chat.

Each simulated user registers (or, if the name exists, just logs in) over HTTP, opens the
chat WebSocket `/ws/<user>?room=<room>` with `websocket-client` (gevent-friendly: Locust
monkey-patches sockets), authenticates with a first `auth` frame, and then chats every
`--chat-interval` seconds on average (uniform 0.5x..1.5x), a `--toxic-ratio` share of its
lines toxic. A receiver greenlet reads every frame. Custom request events:

* `WS connect`: WebSocket handshake + auth frame + `history` frame, in ms.
* `WS rtt chat` (or `rtt held` / `rtt blocked`): send -> the user's own echo (the echo is
  the server's acknowledgement: the line was scored and stored), matched by a nonce.
  No answer within `--rtt-timeout` seconds is a failure.
* `WSR recv <type>`: one per frame received (RPS is frames/s); for `chat` frames the
  response time is receipt minus the frame's `ts` (server stamp -> this client).
* `WS error <code>` / `WS closed`: refusals and closed sockets, as failures.

Only 127.0.0.1 may be the target, and a run needs `--run-time` (at most 600 s) and at most
2,000 users: it always stops by itself. Example (see docs/benchmarks.md):

    .venv/bin/locust -f load/locustfile.py --headless -H http://127.0.0.1:8000 \\
        -u 50 -r 10 --run-time 30s --chat-interval 5 --toxic-ratio 0.1
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import gevent
import websocket
from locust import HttpUser, events, task
from locust.exception import StopUser

ALLOWED_HOST = "127.0.0.1"
MAX_USERS = 2000
MAX_RUN_TIME = 600
PASSWORD = "load-test-password"
NONCE = re.compile(r"#([0-9a-f]{12})\b")

BENIGN = (
    "hi everyone",
    "great stream today",
    "lol that was close",
    "what game is this?",
    "gg",
    "can you play the next level",
    "hello from Lisbon",
    "this music is nice",
    "how long have you been streaming",
    "nice shot!",
    "first time here, love it",
    "is there a discord?",
)
TOXIC = (
    "you are an idiot",
    "what a stupid play",
    "total loser move",
    "this stream is trash",
    "shut up moron",
    "watch your back",
)

_counter = itertools.count(1)
_run_id = uuid.uuid4().hex[:6]


def check_host(host: str | None) -> str:
    """The base URL if it is http://127.0.0.1[:port]; anything else is refused."""
    parts = urlsplit(host or "")
    if parts.scheme != "http" or parts.hostname != ALLOWED_HOST:
        raise ValueError(f"refusing host {host!r}: only http://{ALLOWED_HOST}[:port] is allowed")
    return f"http://{ALLOWED_HOST}:{parts.port or 80}"


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--chat-interval", type=float, default=5.0, help="mean seconds per line")
    parser.add_argument("--toxic-ratio", type=float, default=0.1, help="share of toxic lines")
    parser.add_argument("--chat-room", default="main", help="room every user joins")
    parser.add_argument("--rtt-timeout", type=float, default=10.0, help="echo deadline (s)")
    parser.add_argument("--user-prefix", default="", help="username prefix (default: random)")


@events.init.add_listener
def _check_bounds(environment: Any, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    problems = []
    try:
        check_host(options.host or ChatUser.host)
    except ValueError as exc:
        problems.append(str(exc))
    if not options.run_time or options.run_time > MAX_RUN_TIME:
        problems.append(f"pass --run-time (at most {MAX_RUN_TIME} s): a run must stop by itself")
    if options.num_users and options.num_users > MAX_USERS:
        problems.append(f"at most {MAX_USERS} users (-u)")
    if options.chat_interval <= 0 or not 0 <= options.toxic_ratio <= 1:
        problems.append("--chat-interval must be > 0 and --toxic-ratio in 0..1")
    if problems:
        sys.stderr.write("locustfile: " + "; ".join(problems) + "\n")
        sys.exit(2)


class ChatUser(HttpUser):
    """A viewer who chats."""

    host = f"http://{ALLOWED_HOST}:8000"

    def wait_time(self) -> float:
        interval = float(self.environment.parsed_options.chat_interval)
        return random.uniform(0.5 * interval, 1.5 * interval)

    def on_start(self) -> None:
        try:
            base = check_host(self.host)
        except ValueError as exc:
            raise StopUser() from exc
        options = self.environment.parsed_options
        self.room = options.chat_room
        self.toxic_ratio = options.toxic_ratio
        self.rtt_timeout = options.rtt_timeout
        self.username = f"{options.user_prefix or 'lc' + _run_id}_{next(_counter)}"
        self.pending: dict[str, tuple[float, str]] = {}
        self.ws: websocket.WebSocket | None = None
        self.receiver: gevent.Greenlet | None = None
        token = self._login()
        if token is None:
            raise StopUser()
        self._connect(f"{base.replace('http://', 'ws://')}/ws/{self.username}", token)

    def _login(self) -> str | None:
        body = {"username": self.username, "password": PASSWORD, "email": "lc@example.org"}
        with self.client.post(
            "/auth/register", json=body, name="/auth/register", catch_response=True
        ) as response:
            if response.status_code in (200, 409):  # 409: the name exists, log in
                response.success()
        form = {"username": self.username, "password": PASSWORD}
        with self.client.post(
            "/auth/login", data=form, name="/auth/login", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"login {response.status_code}")
                return None
            return str(response.json()["access_token"])

    def _fire(
        self,
        request_type: str,
        name: str,
        response_time: float,
        length: int = 0,
        exception: Exception | None = None,
    ) -> None:
        self.environment.events.request.fire(
            request_type=request_type,
            name=name,
            response_time=response_time,
            response_length=length,
            response=None,
            context={},
            exception=exception,
        )

    def _connect(self, url: str, token: str) -> None:
        started = time.perf_counter()
        try:
            ws = websocket.create_connection(f"{url}?room={self.room}", timeout=15)
            ws.send(json.dumps({"type": "auth", "token": token}))
            while True:
                frame = json.loads(ws.recv())
                if frame.get("type") == "history":
                    break
                if frame.get("type") == "error":
                    raise ConnectionError(f"auth refused: {frame.get('code')}")
        except (OSError, websocket.WebSocketException, ValueError) as exc:
            self._fire("WS", "connect", (time.perf_counter() - started) * 1000, 0, exc)
            raise StopUser() from exc
        self._fire("WS", "connect", (time.perf_counter() - started) * 1000)
        ws.settimeout(None)
        self.ws = ws
        self.receiver = gevent.spawn(self._receive)

    def _receive(self) -> None:
        assert self.ws is not None
        while True:
            try:
                payload = self.ws.recv()
            except (OSError, websocket.WebSocketException) as exc:
                self._fire("WS", "closed", 0, 0, exc)
                return
            now = time.perf_counter()
            try:
                frame = json.loads(payload)
            except ValueError as exc:
                self._fire("WSR", "recv bad json", 0, len(payload), exc)
                continue
            kind = str(frame.get("type"))
            latency = 0.0
            if kind == "chat" and isinstance(frame.get("ts"), str):
                stamped = datetime.fromisoformat(frame["ts"]).timestamp()
                latency = max(0.0, (time.time() - stamped) * 1000)
            self._fire("WSR", f"recv {kind}", latency, len(payload))
            if kind in ("chat", "held", "blocked") and frame.get("user") == self.username:
                match = NONCE.search(str(frame.get("message", "")))
                sent = self.pending.pop(match.group(1), None) if match else None
                if sent is not None:
                    self._fire("WS", f"rtt {kind}", (now - sent[0]) * 1000, len(payload))
            elif kind == "error":
                code = str(frame.get("code"))
                self._fire("WS", f"error {code}", 0, len(payload), RuntimeError(code))

    def _expire(self) -> None:
        deadline = time.perf_counter() - self.rtt_timeout
        for nonce, (sent, _line) in list(self.pending.items()):
            if sent < deadline:
                del self.pending[nonce]
                self._fire("WS", "rtt chat", self.rtt_timeout * 1000, 0, TimeoutError("no echo"))

    @task
    def chat(self) -> None:
        if self.ws is None or (self.receiver is not None and self.receiver.dead):
            raise StopUser()
        self._expire()
        line = random.choice(TOXIC if random.random() < self.toxic_ratio else BENIGN)
        nonce = uuid.uuid4().hex[:12]
        self.pending[nonce] = (time.perf_counter(), line)
        try:
            self.ws.send(json.dumps({"type": "chat", "message": f"{line} #{nonce}"}))
        except (OSError, websocket.WebSocketException) as exc:
            self._fire("WS", "send", 0, 0, exc)
            raise StopUser() from exc

    def on_stop(self) -> None:
        if self.receiver is not None:
            self.receiver.kill(block=True, timeout=2)
        if self.ws is not None:
            try:
                self.ws.close(timeout=2)
            except (OSError, websocket.WebSocketException):
                pass
            self.ws = None

"""Fan-out benchmark: one sender, N viewers in one room, delivery latency per message.

Starts `--viewers` WebSocket viewers in one room (all logged in as one account; raise
`MAX_CONNECTIONS_PER_USER` on the server, which `--start-server` does), waits until each
has its `history` frame, then one sender (another account) sends `--messages` chat lines
at `--rate` per second. Every line carries a unique marker; each viewer notes when the
`chat` frame with that marker arrives. Latency is receipt time minus the sender's time
just before `send_message`, both on this process's monotonic clock. Reported: deliveries
per second, latency p50/p95/p99/max over all (message, viewer) pairs, and failures:
viewers closed (by close code), deliveries missing, refusals the sender got.

The whole run is bounded by `--seconds`; it only talks to 127.0.0.1. The client shares
the machine with the server: each received frame costs the client CPU too, so on a small
machine the figures are those of server *and* client (see docs/benchmarks.md).

Run:
    .venv/bin/python load/bench_fanout.py --start-server --viewers 200 --messages 20 --rate 2
    .venv/bin/python load/bench_fanout.py --port 8000 --viewers 100 --messages 10 --rate 10
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio
from trio_websocket import ConnectionClosed, HandshakeError

from safestream.chat_client import open_chat_socket

HOST = "127.0.0.1"
MESSAGE_QUEUE = 100_000  # frames a viewer may have unread; trio-websocket's default is 1
CONNECT_CONCURRENCY = 50
REPO = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"fanout-([0-9a-f]{8})-(\d+)")


@dataclass
class FanoutResult:
    viewers: int
    viewers_ready: int
    messages_sent: int
    rate: float
    expected: int  # messages_sent * viewers_ready
    delivered: int
    missing: int
    closes: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    send_lag_max_ms: float = 0.0  # how far the sender fell behind its schedule
    connect_secs: float = 0.0
    duration_secs: float = 0.0  # first send -> last delivery
    deliveries_per_sec: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    timed_out: bool = False
    client_cpu_secs: float = 0.0  # this process, from the first send to the end
    server_cpu_secs: float = math.nan  # the server process (with --start-server or --pid)
    server_cpu_us_per_delivery: float = math.nan

    @property
    def ok(self) -> bool:
        return self.missing == 0 and not self.closes and self.viewers_ready == self.viewers


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted `values` (q in 0..100)."""
    if not values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(values)))
    return values[rank - 1]


def process_cpu_secs(pid: int | None) -> float:
    """User + system CPU seconds of process `pid` (Linux /proc), NaN if unknown."""
    if pid is None:
        return math.nan
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ServerProcess:
    port: int
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def open_socket(url: str) -> Any:
    """A viewer socket with a deep unread queue that always closes its TCP stream."""
    return open_chat_socket(
        url, unread_frames=MESSAGE_QUEUE, connect_timeout=15, disconnect_timeout=5
    )


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SAFESTREAM_MODE": "demo",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir}/b.db",
            "APP_HOST": HOST,
            "APP_PORT": str(port),
            "MODERATION_MODEL": "keyword",
            "GIFT_INTERVAL_SECS": "0",
            "MESSAGES_PER_SECOND": "1000",
            "MESSAGE_BURST": "1000",
            "MAX_CONNECTIONS_PER_IP": "5000",
            "MAX_CONNECTIONS_PER_USER": "5000",
            "MAX_CONNECTIONS": "5000",
            "LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        }
    )
    return env


@asynccontextmanager
async def start_server(start_timeout: float = 60.0) -> AsyncIterator[ServerProcess]:
    """`safestream serve` as a child process on a free port, stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        with (data_dir / "server.log").open("wb") as log:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "safestream.cli", "serve"],
                env=server_env(data_dir, port),
                cwd=str(REPO),
                stdout=log,
                stderr=log,
            )
        try:
            with trio.fail_after(start_timeout):
                async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as http:
                    while True:
                        if process.poll() is not None:
                            raise RuntimeError(
                                "server exited early:\n"
                                + (data_dir / "server.log").read_text()[-3000:]
                            )
                        try:
                            if (await http.get("/health", timeout=1)).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                        await trio.sleep(0.2)
            yield ServerProcess(port, process.pid)
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.send_signal(signal.SIGINT)
                    with trio.move_on_after(20):
                        await process.wait()
                    if process.returncode is None:
                        process.kill()
                        await process.wait()


async def login(base_url: str, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/auth/login", data={"username": username, "password": password}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


class Run:
    """Shared state of one benchmark run."""

    def __init__(self, viewers: int, messages: int) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.sent_at: list[float] = [math.nan] * messages
        self.latencies: list[float] = []
        self.last_receipt = 0.0
        self.delivered = 0
        self.ready = 0
        self.settled = trio.Event()  # every viewer is ready or has failed
        self.viewers = viewers
        self.messages = messages
        self.closes: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.received = [0] * viewers  # per viewer: messages of this run received
        self.failed = 0  # viewers that never got their history frame
        self.sent = 0
        self.done = trio.Event()

    def mark_ready(self) -> None:
        self.ready += 1
        self._settle()

    def mark_failed(self) -> None:
        self.failed += 1
        self._settle()

    def _settle(self) -> None:
        if self.ready + self.failed == self.viewers:
            self.settled.set()

    def check_done(self) -> None:
        if self.sent == self.messages and self.delivered >= self.sent * self.ready:
            self.done.set()


async def authenticate(ws: Any, token: str) -> None:
    """Send the auth frame and read up to the `history` frame."""
    await ws.send_message(json.dumps({"type": "auth", "token": token}))
    while True:
        frame = json.loads(await ws.get_message())
        if frame.get("type") == "history":
            return
        if frame.get("type") == "error":
            raise RuntimeError(f"auth refused: {frame}")


async def viewer(run: Run, index: int, url: str, token: str, gate: trio.Semaphore) -> None:
    """One viewer: connect, authenticate, then note the arrival time of every marker."""
    seen = [False] * run.messages
    await gate.acquire()  # bounds concurrent handshakes, not connections
    opening = True
    try:
        async with open_socket(url) as ws:
            await authenticate(ws, token)
            gate.release()
            opening = False
            run.mark_ready()
            while True:
                payload = await ws.get_message()
                now = trio.current_time()
                # A regex on the raw text is much cheaper than json.loads per frame.
                match = MARKER.search(payload)
                if match is None or match.group(1) != run.tag:
                    continue
                number = int(match.group(2))
                if seen[number]:
                    continue
                seen[number] = True
                run.received[index] += 1
                run.delivered += 1
                run.latencies.append(now - run.sent_at[number])
                run.last_receipt = now
                run.check_done()
    except ConnectionClosed as exc:
        run.closes[str(getattr(exc.reason, "code", "?"))] += 1
    except (HandshakeError, OSError, RuntimeError, trio.TooSlowError) as exc:
        run.closes[type(exc).__name__] += 1
    finally:
        if opening:
            gate.release()
            run.mark_failed()


async def read_refusals(run: Run, ws: Any) -> None:
    while True:
        frame = json.loads(await ws.get_message())
        if frame.get("type") in ("error", "blocked", "held"):
            run.refusals[frame.get("code") or frame["type"]] += 1


async def sender(
    run: Run, url: str, token: str, rate: float, lag: list[float], drain: float
) -> None:
    """Send the messages on schedule, then wait up to `drain` s for their delivery."""
    try:
        async with open_socket(url) as ws:
            await authenticate(ws, token)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_refusals, run, ws)
                start = trio.current_time()
                for number in range(run.messages):
                    due = start + number / rate
                    now = trio.current_time()
                    if due > now:
                        await trio.sleep(due - now)
                    lag[0] = max(lag[0], trio.current_time() - due)
                    text = f"fanout-{run.tag}-{number} hello everyone"
                    run.sent_at[number] = trio.current_time()
                    await ws.send_message(json.dumps({"type": "chat", "message": text}))
                    run.sent = number + 1
                run.check_done()
                with trio.move_on_after(drain):
                    await run.done.wait()
                nursery.cancel_scope.cancel()
        return
    except* ConnectionClosed as group:
        for exc in group.exceptions:
            code = getattr(getattr(exc, "reason", None), "code", "?")
            run.closes[f"sender {code}"] += 1
    # The sender was closed: what it sent may still reach the viewers.
    with trio.move_on_after(drain):
        await run.done.wait()


async def run_fanout(
    port: int,
    *,
    viewers: int = 200,
    messages: int = 20,
    rate: float = 2.0,
    seconds: float = 60.0,
    room: str = "fanout",
    viewer_user: str = "demo_user",
    sender_user: str = "chat_viewer",
    viewer_password: str | None = None,
    sender_password: str | None = None,
    drain: float = 10.0,
    server_pid: int | None = None,
) -> FanoutResult:
    """Run one fan-out measurement against the server on 127.0.0.1:`port`."""
    base = f"http://{HOST}:{port}"
    run = Run(viewers, messages)
    lag = [0.0]
    connect_secs = 0.0
    cpu_before = (time.process_time(), process_cpu_secs(server_pid))
    timed_out = True
    with trio.move_on_after(seconds):
        viewer_token = await login(base, viewer_user, viewer_password or viewer_user)
        sender_token = await login(base, sender_user, sender_password or sender_user)
        ws_base = f"ws://{HOST}:{port}/ws"
        gate = trio.Semaphore(CONNECT_CONCURRENCY)
        async with trio.open_nursery() as nursery:
            t0 = trio.current_time()
            for index in range(viewers):
                nursery.start_soon(
                    viewer, run, index, f"{ws_base}/{viewer_user}?room={room}", viewer_token, gate
                )
            # Wait for every viewer's history frame (or its failure).
            await run.settled.wait()
            connect_secs = trio.current_time() - t0
            cpu_before = (time.process_time(), process_cpu_secs(server_pid))
            if run.ready:
                url = f"{ws_base}/{sender_user}?room={room}"
                await sender(run, url, sender_token, rate, lag, drain)
            timed_out = False
            nursery.cancel_scope.cancel()
    client_cpu = time.process_time() - cpu_before[0]
    server_cpu = process_cpu_secs(server_pid) - cpu_before[1]
    latencies = sorted(run.latencies)
    first_send = next((t for t in run.sent_at if not math.isnan(t)), math.nan)
    duration = run.last_receipt - first_send if run.delivered else 0.0
    expected = run.sent * run.ready
    return FanoutResult(
        viewers=viewers,
        viewers_ready=run.ready,
        messages_sent=run.sent,
        rate=rate,
        expected=expected,
        delivered=run.delivered,
        missing=expected - run.delivered,
        closes=dict(run.closes),
        refusals=dict(run.refusals),
        send_lag_max_ms=round(lag[0] * 1000, 2),
        connect_secs=round(connect_secs, 2),
        duration_secs=round(duration, 3),
        deliveries_per_sec=round(run.delivered / duration, 1) if duration > 0 else 0.0,
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p95_ms=round(percentile(latencies, 95) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
        max_ms=round(latencies[-1] * 1000, 2) if latencies else math.nan,
        timed_out=timed_out,
        client_cpu_secs=round(client_cpu, 2),
        server_cpu_secs=round(server_cpu, 2),
        server_cpu_us_per_delivery=(
            round(server_cpu / run.delivered * 1e6, 1) if run.delivered else math.nan
        ),
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="a server already running on 127.0.0.1")
    where.add_argument(
        "--start-server", action="store_true", help="run `safestream serve` on a free port"
    )
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="bound on the whole run")
    parser.add_argument("--room", default="fanout")
    parser.add_argument("--viewer-user", default="demo_user")
    parser.add_argument("--sender-user", default="chat_viewer")
    parser.add_argument("--drain", type=float, default=10.0, help="wait for deliveries (s)")
    parser.add_argument("--pid", type=int, help="with --port: the server's pid, for its CPU time")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not (1 <= args.viewers <= 5000 and 1 <= args.messages <= 100_000):
        parser.error("--viewers must be 1..5000 and --messages 1..100000")
    if not (0 < args.rate <= 10_000 and 0 < args.seconds <= 600):
        parser.error("--rate must be in (0, 10000] and --seconds in (0, 600]")
    return args


async def amain(args: argparse.Namespace) -> FanoutResult:
    options = {
        "viewers": args.viewers,
        "messages": args.messages,
        "rate": args.rate,
        "seconds": args.seconds,
        "room": args.room,
        "viewer_user": args.viewer_user,
        "sender_user": args.sender_user,
        "drain": args.drain,
    }
    if args.start_server:
        async with start_server() as server:
            return await run_fanout(server.port, server_pid=server.pid, **options)
    return await run_fanout(args.port, server_pid=args.pid, **options)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = trio.run(amain, args)
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        for key, value in asdict(result).items():
            print(f"{key:>20}: {value}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Per-frame cost of the chat socket's write path: the ASGI path against our own, one run.

One server in this process: the node's listener (`safestream.web.listener.serve`) with
two handlers on one port, exactly as the node has them:

* `asgi`: a `/old/` upgrade goes to Hypercorn, whose ASGI websocket is driven through
  `AsgiTransport` (the path every chat socket took before the listener, and the
  fallback today): one `websocket.send` per frame.
* `own-1`: a `/ws/` upgrade served by `WsprotoTransport`, one `send_frames` call (one
  socket write) per frame: a viewer whose writer finds one frame queued each time.
* `own-64`: the same, 64 queued frames per call: a viewer of a busy room.
* `raw-1`: the floor, a bare `await socket.send(frame)` per frame.

Each handler sends `--frames` copies of one pre-framed ~250-byte chat event to a client
in a *separate process* (blocking sockets, reads and counts bytes), so this process's
CPU time while it sends is the server's cost alone. Reported per mode: CPU µs and wall
µs per frame (median of `--repeats` interleaved runs), and the ratio asgi / own. The
whole run is bounded by `--seconds` (at most 30) and only uses 127.0.0.1.

Run:
    PYTHONPATH=. .venv/bin/python load/bench_frames.py --frames 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config

from safestream.chat.wsframes import event_frame
from safestream.web.listener import serve
from safestream.web.transport import AsgiTransport
from safestream.web.wsproto_transport import WsprotoTransport

HOST = "127.0.0.1"
MODES = ("asgi", "own-1", "own-64", "raw-1")
EVENT = {
    "type": "chat",
    "id": "0" * 32,
    "user": "demo_user",
    "message": "a typical chat line of a few words, said in a busy room",
    "toxic": False,
    "score": 0.0123,
    "ts": "2026-12-01T12:00:00.000000+00:00",
    "room": "main",
    "seq": 12345,
    "action": "allow",
    "policy_version": 1,
}
UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)


def client(port: int, path: str, expected: int) -> None:
    """The reading side (own process): upgrade, then read `expected` bytes of frames."""
    with socket.create_connection((HOST, port)) as sock:
        sock.sendall(UPGRADE.format(path=path, host=f"{HOST}:{port}").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 101"), data[:80]
        got = len(data.split(b"\r\n\r\n", 1)[1])
        buffer = bytearray(1 << 20)
        while got < expected:
            count = sock.recv_into(buffer)
            if not count:
                raise SystemExit(f"server closed after {got} of {expected} bytes")
            got += count


class Bench:
    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.frame = event_frame(EVENT)
        self.results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}

    def record(self, mode: str, cpu: float, wall: float) -> None:
        self.results[mode].append((cpu / self.frames * 1e6, wall / self.frames * 1e6))

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        transport = AsgiTransport(scope, receive, send)
        await transport.wait_connect()
        await transport.accept()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(self.frames):
            await transport.send_frames([self.frame])
        self.record("asgi", time.process_time() - cpu, time.perf_counter() - wall)
        await transport.close(1000, "done")

    async def own(self, transport: WsprotoTransport) -> None:
        await transport.accept()
        if transport.query.get("raw"):
            await self.raw(transport)
            return
        per_write = int(transport.query["per_write"])
        frames = [self.frame] * per_write
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(self.frames // per_write):
            await transport.send_frames(frames)
        self.record(f"own-{per_write}", time.process_time() - cpu, time.perf_counter() - wall)
        await transport.close(1000, "done")

    async def raw(self, transport: WsprotoTransport) -> None:
        """The floor: a bare Trio socket send of the pre-built frame, nothing around it."""
        sock = transport._stream.socket
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(self.frames):
            sent = await sock.send(self.frame)
            while sent < len(self.frame):
                sent += await sock.send(self.frame[sent:])
        self.record("raw-1", time.process_time() - cpu, time.perf_counter() - wall)
        await transport.close(1000, "done")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run(frames: int, repeats: int, seconds: float) -> dict[str, Any]:
    frames -= frames % 64
    bench = Bench(frames)
    config = Config()
    config.bind = [f"{HOST}:0"]
    config.accesslog = None
    stop = trio.Event()
    paths = {"asgi": "/old/bench", "own-1": "/ws/bench?per_write=1"}
    paths["own-64"] = "/ws/bench?per_write=64"
    paths["raw-1"] = "/ws/bench?raw=1"
    before = load_average()
    with trio.fail_after(seconds):
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(
                partial(serve, bench.asgi, config, bench.own, shutdown_trigger=stop.wait)
            )
            port = int(urls[0].rsplit(":", 1)[1])
            expected = len(bench.frame) * frames
            for _ in range(repeats):
                for mode in MODES:
                    command = [sys.executable, __file__, "--client", str(port), paths[mode]]
                    await trio.run_process([*command, str(expected)])
            stop.set()
    summary: dict[str, Any] = {
        "frames": frames,
        "frame_bytes": len(bench.frame),
        "repeats": repeats,
        "load_average_before": before,
        "load_average_after": load_average(),
    }
    for mode, runs in bench.results.items():
        summary[mode] = {
            "cpu_us_per_frame": round(statistics.median(cpu for cpu, _ in runs), 2),
            "wall_us_per_frame": round(statistics.median(wall for _, wall in runs), 2),
            "runs_cpu_us": [round(cpu, 2) for cpu, _ in runs],
        }
    old = summary["asgi"]["cpu_us_per_frame"]
    summary["ratio_asgi_to_own_1"] = round(old / summary["own-1"]["cpu_us_per_frame"], 1)
    summary["ratio_asgi_to_own_64"] = round(old / summary["own-64"]["cpu_us_per_frame"], 1)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000, help="frames per run (64..100000)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per mode (1..9)")
    parser.add_argument("--seconds", type=float, default=30.0, help="bound on the whole run")
    parser.add_argument(
        "--client", nargs=3, metavar=("PORT", "PATH", "BYTES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.client:
        client(int(args.client[0]), args.client[1], int(args.client[2]))
        return
    if not 64 <= args.frames <= 100_000 or not 1 <= args.repeats <= 9:
        parser.error("--frames must be 64..100000 and --repeats 1..9")
    if not 0 < args.seconds <= 30:
        parser.error("--seconds must be in (0, 30]")
    print(json.dumps(trio.run(run, args.frames, args.repeats, args.seconds), indent=2))


if __name__ == "__main__":
    main()

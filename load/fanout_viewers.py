"""One viewer process of the fan-out benchmark: its share of viewers in one Trio loop.

Each viewer connects in its own task; once it has its `history` frame, its socket joins
the process's one `epoll`, and a single reader task reads every socket epoll reports
ready (`RawWebSocket.read_now`): a frame costs the driver a `recv` and a regex, not a
task parked and woken per socket per frame, so the driver takes less of the CPU it
shares with the server it measures.

`bench_fanout.py` starts `--procs` of these (`python load/fanout_viewers.py`), writes
one JSON line of configuration to each one's stdin and reads JSON lines from its
stdout:

* `{"event": "ready", "ready": n, "failed": {...}}` once every viewer has its `history`
  frame or has failed (by reason: a close code, `HandshakeFailed`, ...);
* `{"event": "progress", "delivered": d, "delivered_open": o, "open": k}` every
  `progress_secs` while something changes, so the parent knows when all is delivered;
* `{"event": "done", ...}` (a `ShardResult`) after the parent writes `stop` (or
  closes stdin): the viewers are closed first.

Send times are shared, not sent: the parent's senders write `time.monotonic()` of
message `n` into a file both map (`SharedMarks`) just before sending it, and a viewer
computes each latency when the marker arrives, on the same clock (CLOCK_MONOTONIC is
system-wide on Linux). Latencies go into a histogram of 10 µs buckets, so a long run
costs no memory per delivery; a viewer also flags each message it saw in the shared
file, so the parent knows which messages reached anybody.

Example (what the parent does):
    marks = SharedMarks.create(Path(tmp) / "marks", messages=500)
    process = await trio.lowlevel.open_process(
        [sys.executable, "load/fanout_viewers.py"], stdin=PIPE, stdout=PIPE)
    await process.stdin.send_all(json.dumps(config).encode() + b"\\n")
"""

from __future__ import annotations

import json
import mmap
import os
import select
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import trio
from wsclient import Closed, RawWebSocket
from wsload import HandshakeFailed, WsProtocolError, marker_pattern

__all__ = ["BUCKET_SECS", "ShardResult", "SharedMarks", "ViewerConfig"]

BUCKET_SECS = 1e-5  # latency histogram resolution: 10 µs


class SharedMarks:
    """Per message: its send time (float64) and a 'reached a viewer' flag, in one mapped
    file shared by the sender process and every viewer process."""

    def __init__(self, path: Path, messages: int, handle: mmap.mmap) -> None:
        self.path = path
        self.messages = messages
        self._map = handle
        self.sent_at = memoryview(handle)[: 8 * messages].cast("d")
        self.seen = memoryview(handle)[8 * messages : 9 * messages]

    @classmethod
    def create(cls, path: Path, messages: int) -> SharedMarks:
        with path.open("wb") as file:
            file.truncate(max(1, 9 * messages))
        return cls.open(path, messages)

    @classmethod
    def open(cls, path: Path, messages: int) -> SharedMarks:
        with path.open("r+b") as file:
            handle = mmap.mmap(file.fileno(), max(1, 9 * messages))
        return cls(path, messages, handle)

    def close(self) -> None:
        self.sent_at.release()
        self.seen.release()
        self._map.close()


@dataclass(frozen=True)
class ViewerConfig:
    host: str
    ports: list[int]  # one per viewer of this process
    path: str  # /ws/<user>?room=...&token=...[&batch=1]
    tag: str
    messages: int
    senders: int
    marks: str
    connect_concurrency: int = 50
    connect_timeout: float = 15.0
    progress_secs: float = 0.2


@dataclass
class ShardResult:
    viewers: int
    ready: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # never got their history
    closes: dict[str, int] = field(default_factory=dict)  # closed after being ready
    open: int = 0  # still open when stopped
    delivered: int = 0
    delivered_open: int = 0  # by viewers still open when stopped
    out_of_order: int = 0  # a sender's marker at or below one already seen (dup/reorder)
    histogram: list[list[int]] = field(default_factory=list)  # [bucket, deliveries]
    max_latency: float = 0.0
    first_receipt: float = 0.0
    last_receipt: float = 0.0


class Shard:
    """This process's viewers and what they counted."""

    def __init__(self, config: ViewerConfig, marks: SharedMarks) -> None:
        self.config = config
        self.marks = marks
        self.pattern = marker_pattern(config.tag)
        count = len(config.ports)
        self.counts = [0] * count
        self.is_open = [False] * count
        self.failed: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        self.histogram: Counter[int] = Counter()
        self.ready = 0
        self.delivered = 0
        self.out_of_order = 0
        self.last = [[-1] * config.senders for _ in range(count)]  # per viewer, per sender
        self.max_latency = 0.0
        self.first_receipt = 0.0
        self.last_receipt = 0.0
        self.settled = trio.Event()
        self.epoll = select.epoll()
        # fd -> (socket, viewer index, set when it closed)
        self.reading: dict[int, tuple[RawWebSocket, int, trio.Event]] = {}

    def _settle(self) -> None:
        if self.ready + sum(self.failed.values()) == len(self.counts):
            self.settled.set()

    async def viewer(self, index: int, gate: trio.Semaphore) -> None:
        """Connect, wait for the `history` frame, then count markers until closed."""
        config = self.config
        ws: RawWebSocket | None = None
        try:
            try:
                async with gate:  # bounds handshakes in flight, not connections
                    with trio.fail_after(config.connect_timeout):
                        ws = await RawWebSocket.connect(
                            config.host, config.ports[index], config.path
                        )
                        first = await ws.receive()
            except Closed as exc:
                self.failed[str(exc.code)] += 1
                return
            except (HandshakeFailed, OSError, WsProtocolError, trio.TooSlowError) as exc:
                self.failed[type(exc).__name__] += 1
                return
            if b'"type":"history"' not in first[0][1]:
                self.failed["no_history"] += 1
                return
            self.ready += 1
            self.is_open[index] = True
            self._settle()
            closed = trio.Event()
            fd = ws.fileno()
            self.reading[fd] = (ws, index, closed)
            self.epoll.register(fd, select.EPOLLIN)
            try:
                self._read(ws, index, closed)  # what came with the history frame
                await closed.wait()
            finally:
                if self.reading.pop(fd, None) is not None:
                    self.epoll.unregister(fd)
        finally:
            self._settle()
            if ws is not None:
                await ws.aclose()

    async def read_ready(self) -> None:
        """Read every viewer socket that epoll reports ready, for as long as it runs."""
        epoll = self.epoll
        while True:
            await trio.lowlevel.wait_readable(epoll.fileno())
            for fd, _ in epoll.poll(0):
                entry = self.reading.get(fd)
                if entry is not None:
                    self._read(*entry)

    def _read(self, ws: RawWebSocket, index: int, closed: trio.Event) -> None:
        try:
            frames, end = ws.read_now()
        except WsProtocolError:
            self._closed(ws, index, closed, "protocol")
            return
        if frames:
            self._count(frames, index, time.monotonic())
        if end is not None:
            self._closed(ws, index, closed, str(end.code))

    def _closed(self, ws: RawWebSocket, index: int, closed: trio.Event, why: str) -> None:
        """Count one close, once: the socket leaves the epoll at once (a closed stream
        stays readable, and would be read, and counted, again)."""
        fd = ws.fileno()
        if self.reading.pop(fd, None) is not None:
            self.epoll.unregister(fd)
        self.closes[why] += 1
        self.is_open[index] = False
        closed.set()

    def _count(self, frames: list[tuple[int, bytes]], index: int, now: float) -> None:
        sent_at, seen = self.marks.sent_at, self.marks.seen
        messages, senders = self.config.messages, self.config.senders
        histogram = self.histogram
        last = self.last[index]
        got = 0
        for _opcode, payload in frames:
            for match in self.pattern.finditer(payload):
                number = int(match[1])
                if number >= messages or sent_at[number] <= 0.0:
                    continue  # not sent by this run: cannot be ours
                sender = number % senders
                if number <= last[sender]:
                    self.out_of_order += 1
                last[sender] = number
                latency = now - sent_at[number]
                histogram[int(latency / BUCKET_SECS)] += 1
                if latency > self.max_latency:
                    self.max_latency = latency
                seen[number] = 1
                got += 1
        if got:
            self.counts[index] += got
            self.delivered += got
            if not self.first_receipt:
                self.first_receipt = now
            self.last_receipt = now

    def progress(self) -> dict[str, Any]:
        return {
            "event": "progress",
            "delivered": self.delivered,
            "delivered_open": self._delivered_open(),
            "open": sum(self.is_open),
        }

    def _delivered_open(self) -> int:
        return sum(c for c, is_open in zip(self.counts, self.is_open, strict=True) if is_open)

    def result(self) -> ShardResult:
        return ShardResult(
            viewers=len(self.counts),
            ready=self.ready,
            failed=dict(self.failed),
            closes=dict(self.closes),
            open=sum(self.is_open),
            delivered=self.delivered,
            delivered_open=self._delivered_open(),
            out_of_order=self.out_of_order,
            histogram=[[bucket, n] for bucket, n in sorted(self.histogram.items())],
            max_latency=self.max_latency,
            first_receipt=self.first_receipt,
            last_receipt=self.last_receipt,
        )


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def report_progress(shard: Shard) -> None:
    previous = None
    while True:
        await trio.sleep(shard.config.progress_secs)
        now = shard.progress()
        if now != previous:
            emit(now)
            previous = now


async def wait_for_stop(stdin: trio.lowlevel.FdStream) -> None:
    """Returns when the parent writes `stop` or closes our stdin."""
    data = b""
    while b"stop" not in data:
        chunk = await stdin.receive_some(4096)
        if not chunk:
            return
        data += chunk


async def serve(config: ViewerConfig, stdin: trio.lowlevel.FdStream) -> ShardResult:
    marks = SharedMarks.open(Path(config.marks), config.messages)
    shard = Shard(config, marks)
    try:
        async with trio.open_nursery() as nursery:
            gate = trio.Semaphore(config.connect_concurrency)
            nursery.start_soon(shard.read_ready)
            for index in range(len(config.ports)):
                nursery.start_soon(shard.viewer, index, gate)
            if config.ports:
                await shard.settled.wait()
            emit({"event": "ready", "ready": shard.ready, "failed": dict(shard.failed)})
            nursery.start_soon(report_progress, shard)
            await wait_for_stop(stdin)
            # Counted before the sockets close: closing is not a disconnect.
            result = shard.result()
            nursery.cancel_scope.cancel()
    finally:
        shard.epoll.close()
        marks.close()
    return result


async def amain() -> None:
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    line = b""
    while not line.endswith(b"\n"):
        chunk = await stdin.receive_some(1 << 20)
        if not chunk:
            raise SystemExit("fanout_viewers: no configuration on stdin")
        line += chunk
    config = ViewerConfig(**json.loads(line))
    result = await serve(config, stdin)
    emit({"event": "done", **asdict(result)})


if __name__ == "__main__":
    trio.run(amain)

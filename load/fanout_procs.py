"""The fan-out benchmark's viewer processes, and the CPU window it measures.

`viewer_processes` starts one `fanout_viewers.py` per `ViewerConfig` and follows what
each reports on its stdout (`ready`, `progress`, `done`) in a `Child`; `stop_children`
asks them to stop and collects their `ShardResult`s, killing any that do not answer in
time, so a run never leaves a viewer process behind. `viewer_configs` spreads viewers
over processes and ports round-robin (viewer `i`: process `i % procs`, port
`i % len(ports)`). `Window` reads the CPU time of the client's and the server's
processes and the load average at the start and end of the measured part of a run.

Example:
    configs = viewer_configs([8000], 200, 2, path, tag, marks, 2, 50)
    async with viewer_processes(configs) as children:
        for child in children:
            await child.ready.wait()
        shards = await stop_children(children)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import trio
from fanout_servers import HOST, cpu_secs
from fanout_viewers import ShardResult, SharedMarks, ViewerConfig

__all__ = [
    "Child",
    "Window",
    "default_procs",
    "stop_children",
    "viewer_configs",
    "viewer_processes",
]

VIEWER_SCRIPT = Path(__file__).resolve().parent / "fanout_viewers.py"
STOP_TIMEOUT_SECS = 10.0
VIEWERS_PER_PROC = 500


def default_procs(viewers: int) -> int:
    """One viewer process per 500 viewers, at most one per core."""
    return max(1, min(os.cpu_count() or 1, math.ceil(viewers / VIEWERS_PER_PROC)))


@dataclass
class Child:
    process: trio.Process
    ready: trio.Event = field(default_factory=trio.Event)
    done: trio.Event = field(default_factory=trio.Event)
    ready_info: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, int] = field(default_factory=dict)
    result: ShardResult | None = None


async def _read_child(child: Child) -> None:
    assert child.process.stdout is not None
    buffer = bytearray()
    try:
        while chunk := await child.process.stdout.receive_some(1 << 16):
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                event = json.loads(buffer[:end])
                del buffer[: end + 1]
                kind = event.pop("event")
                if kind == "ready":
                    child.ready_info = event
                    child.progress = {"delivered": 0, "delivered_open": 0, "open": event["ready"]}
                    child.ready.set()
                elif kind == "progress":
                    child.progress = event
                elif kind == "done":
                    child.result = ShardResult(**event)
                    child.done.set()
    finally:  # a crashed child must not keep anybody waiting
        child.ready.set()
        child.done.set()


@asynccontextmanager
async def viewer_processes(configs: Sequence[ViewerConfig]) -> AsyncIterator[list[Child]]:
    """One `fanout_viewers.py` process per config; killed on exit if still running."""
    children: list[Child] = []
    async with trio.open_nursery() as nursery:
        try:
            for config in configs:
                process = await trio.lowlevel.open_process(
                    [sys.executable, str(VIEWER_SCRIPT)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
                child = Child(process)
                children.append(child)
                nursery.start_soon(_read_child, child)
                assert process.stdin is not None
                await process.stdin.send_all(json.dumps(asdict(config)).encode() + b"\n")
            yield children
        finally:
            with trio.CancelScope(shield=True):
                await stop_children(children)
            nursery.cancel_scope.cancel()


async def stop_children(children: list[Child]) -> list[ShardResult]:
    """Ask each child to stop and report; kill those that do not within the timeout."""
    with trio.CancelScope(shield=True):
        with trio.move_on_after(STOP_TIMEOUT_SECS):
            for child in children:
                if child.process.returncode is None and child.process.stdin is not None:
                    try:
                        await child.process.stdin.send_all(b"stop\n")
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass
            for child in children:
                await child.done.wait()
                await child.process.wait()
        for child in children:
            if child.process.returncode is None:
                child.process.kill()
                await child.process.wait()
    return [child.result for child in children if child.result is not None]


def viewer_configs(
    ports: Sequence[int],
    viewers: int,
    procs: int,
    path: str,
    tag: str,
    marks: SharedMarks,
    senders: int,
    connect_concurrency: int,
) -> list[ViewerConfig]:
    return [
        ViewerConfig(
            host=HOST,
            ports=[ports[i % len(ports)] for i in range(k, viewers, procs)],
            path=path,
            tag=tag,
            messages=marks.messages,
            senders=senders,
            marks=str(marks.path),
            connect_concurrency=max(1, connect_concurrency // procs),
        )
        for k in range(procs)
    ]


@dataclass
class Window:
    """The measured part of a run: wall time and CPU of client and server."""

    client_pids: list[int]
    server_pids: list[int]
    start: float = math.nan
    end: float = math.nan
    client_cpu: float = math.nan
    server_cpu: float = math.nan
    load_start: float = math.nan
    load_end: float = math.nan

    def _client(self) -> float:
        return cpu_secs(self.client_pids, tree=False)

    def open(self) -> None:
        self.load_start = round(os.getloadavg()[0], 2)
        self.client_cpu, self.server_cpu = self._client(), cpu_secs(self.server_pids)
        self.start = time.monotonic()

    def close(self) -> None:
        if math.isnan(self.start) or not math.isnan(self.end):
            return
        self.end = time.monotonic()
        self.client_cpu = self._client() - self.client_cpu
        self.server_cpu = (
            cpu_secs(self.server_pids) - self.server_cpu if self.server_pids else math.nan
        )
        self.load_end = round(os.getloadavg()[0], 2)

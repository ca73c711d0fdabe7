"""The servers a fan-out benchmark runs against: started here, or measured by pid.

`start_servers` runs `safestream serve` on free 127.0.0.1 ports in demo mode, with the
limits a benchmark from one IP and one viewer account would hit opened through the
environment (connections per node, user and IP, messages per second per socket, login
attempts; bcrypt at 4 rounds so registering the senders is quick; no random gifts). The
room's own bounds (`ROOM_MAILBOX_SIZE`, `CONNECTION_OUTBOX_SIZE`, ...) keep their
defaults: they are what an overload measures. `extra_env` overrides anything.

One node uses SQLite in a temporary directory. Several nodes (`processes` > 1, or one
`serve --workers N`) share rooms the way docs/operations.md runs them: one PostgreSQL
(a fresh schema of the local `test` database, dropped afterwards), one Redis broker
(a namespace of its own) and one DATA_DIR (the demo JWT secret lives there, so a token
from one node is valid on all). Start-up waits until `/metrics` lists every node.

The /proc helpers measure a process with its descendants (a `--workers` parent and its
workers), so one pid stands for a whole server.

Example:
    async with start_servers(processes=2, extra_env={"MAX_CONNECTIONS": "3000"}) as servers:
        print(servers.ports, servers.pids)
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trio

__all__ = [
    "HOST",
    "Servers",
    "cpu_secs",
    "free_port",
    "node_viewers",
    "process_tree",
    "profiling",
    "py_spy",
    "rss_kb",
    "start_servers",
]

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_SECS = 60.0
STOP_TIMEOUT_SECS = 20.0


@dataclass(frozen=True)
class Servers:
    ports: list[int]
    pids: list[int]
    env: dict[str, str] = field(default_factory=dict)  # what the benchmark set
    log_dir: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bench_env(*, connections: int, model: str) -> dict[str, str]:
    """The settings a benchmark opens (docs/operations.md, "Every bound")."""
    return {
        "MODERATION_MODEL": model,
        "GIFT_INTERVAL_SECS": "0",
        "MESSAGES_PER_SECOND": "100000",
        "MESSAGE_BURST": "100000",
        "MAX_CONNECTIONS": str(connections),
        "MAX_CONNECTIONS_PER_USER": str(connections),
        "MAX_CONNECTIONS_PER_IP": str(connections),
        "LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        "BCRYPT_ROUNDS": "4",
    }


def _create_schema(url: str, name: str, *, drop: bool = False) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            sql = f'DROP SCHEMA IF EXISTS "{name}" CASCADE' if drop else f'CREATE SCHEMA "{name}"'
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def _wait_up(process: trio.Process, port: int, nodes: int, log: Path) -> None:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{_tail(log)}")
            try:
                response = await http.get("/metrics", timeout=1)
                if response.status_code == 200 and len(response.json()["nodes"]) >= nodes:
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            await trio.sleep(0.2)


async def _stop(process: trio.Process) -> None:
    with trio.CancelScope(shield=True):
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            with trio.move_on_after(STOP_TIMEOUT_SECS):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


@asynccontextmanager
async def start_servers(
    *,
    processes: int = 1,
    workers: int = 1,
    shared: bool = False,
    model: str = "keyword",
    connections: int = 5000,
    extra_env: Mapping[str, str] | None = None,
    postgres_url: str = POSTGRES_URL,
    redis_url: str = REDIS_URL,
    start_timeout: float = START_TIMEOUT_SECS,
) -> AsyncIterator[Servers]:
    """`processes` servers (each `serve --workers workers`), stopped on exit. Several
    nodes, or `shared`, run on PostgreSQL and Redis (so one node can be compared with
    two on the same storage and broker).

    Raises:
        RuntimeError: a server exited during start-up.
        trio.TooSlowError: not up within `start_timeout`.
    """
    shared = shared or processes > 1 or workers > 1
    tag = secrets.token_hex(4)
    schema = f"bench_{tag}"
    env = bench_env(connections=connections, model=model)
    if shared:
        env["DATABASE_URL"] = f"{postgres_url}?options=-csearch_path%3D{schema}"
        env["BROKER_URL"] = redis_url
        env["BROKER_NAMESPACE"] = f"bench{tag}"
    env.update(extra_env or {})
    started: list[trio.Process] = []
    ports: list[int] = []
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        data_dir = Path(tmp)
        if shared:
            await trio.to_thread.run_sync(_create_schema, postgres_url, schema)
        try:
            with trio.fail_after(start_timeout):
                for index in range(processes):  # one after another: the first migrates
                    port = free_port()
                    node_env = {
                        **os.environ,
                        "PYTHONPATH": os.pathsep.join(
                            filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
                        ),
                        "SAFESTREAM_MODE": "demo",
                        "DATA_DIR": str(data_dir),
                        "DATABASE_URL": f"sqlite:///{data_dir}/bench.db",
                        "APP_HOST": HOST,
                        "APP_PORT": str(port),
                        "NODE_ID": f"bench-{tag}-{index}",
                        **env,
                    }
                    command = [sys.executable, "-m", "safestream.cli", "serve"]
                    if workers > 1:
                        command += ["--workers", str(workers)]
                    log = data_dir / f"server-{index}.log"
                    with log.open("wb") as out:
                        process = await trio.lowlevel.open_process(
                            command, env=node_env, cwd=str(REPO), stdout=out, stderr=out
                        )
                    started.append(process)
                    ports.append(port)
                    await _wait_up(process, port, (index + 1) * workers, log)
            yield Servers(ports, [p.pid for p in started], env, str(data_dir))
        finally:
            with trio.CancelScope(shield=True):
                for process in started:
                    await _stop(process)
                if shared:
                    await trio.to_thread.run_sync(
                        lambda: _create_schema(postgres_url, schema, drop=True)
                    )


async def node_viewers(port: int) -> dict[str, int]:
    """Viewers per node of the cluster, from `/metrics` (empty if it cannot be read)."""
    try:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as http:
            nodes = (await http.get("/metrics", timeout=2)).json()["nodes"]
        return {name: int(doc.get("viewer_count", 0)) for name, doc in sorted(nodes.items())}
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants (Linux /proc); empty when `pid` is gone."""
    if not Path(f"/proc/{pid}").exists():
        return []
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return pids


def cpu_secs(pids: list[int], *, tree: bool = True) -> float:
    """User + system CPU seconds of `pids` (with their descendants when `tree`)."""
    total = 0.0
    for root in pids:
        for pid in process_tree(root) if tree else [root]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_kb(pids: list[int]) -> int:
    """Resident memory (VmRSS) of `pids` and their descendants, in KiB."""
    total = 0
    for root in pids:
        for pid in process_tree(root):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
    return total


def py_spy() -> str | None:
    """The py-spy executable (next to this Python, or on PATH), None if not installed."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


@asynccontextmanager
async def profiling(pids: list[int], out: str) -> AsyncIterator[list[str]]:
    """`py-spy record` on each pid (with its subprocesses) while the block runs; one file
    per pid (`out`, then `out` with `-1`, `-2`... before the suffix): a flame graph, or
    collapsed stacks (py-spy's raw format, one line per stack) when `out` ends in .txt."""
    exe = py_spy()
    if exe is None or not pids:
        yield []
        return
    path = Path(out)
    outs = [str(path.with_stem(f"{path.stem}-{i}")) if i else out for i in range(len(pids))]
    spies = []
    for pid, svg in zip(pids, outs, strict=True):
        command = [exe, "record", "--subprocesses", "-o", svg, "--pid", str(pid)]
        if svg.endswith(".txt"):
            command += ["--format", "raw"]
        spies.append(
            await trio.lowlevel.open_process(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    try:
        yield outs
    finally:
        for spy in spies:
            await _stop(spy)

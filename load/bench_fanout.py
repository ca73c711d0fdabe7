"""Fan-out benchmark: S senders, N viewers in one room, every delivery timed.

Viewers (all one account, `--viewer-user`, default `demo_user`) join one room over the
chat WebSocket (`/ws/<user>?room=...&token=...`, with `&batch=1` under `--batched`),
spread over `--procs` viewer processes and over the servers' ports round-robin. Once
every viewer has its `history` frame, `--senders` senders (each its own account,
registered for the run as `fo<tag>s<k>`) send `--messages` chat lines in all (or
`--rate` x `--send-secs`) at `--rate` per second in all, spread evenly. Every line
carries a unique marker; viewers find markers with a bytes regex (every marker of a
batch frame counts) and time them against the sender's `time.monotonic()`, shared
through a mapped file. The client is a raw WebSocket client (`wsload.py`,
`wsclient.py`): a frame costs it a `recv` share, a slice and a regex, well below what
it costs the server, so one 2-core machine can run server and client at 50,000
deliveries/s (e.g. 300 viewers x 170 msg/s) and leave the server most of the CPU.

Reported (`--json`: strict JSON, null for what was not measured): deliveries/s over
first send -> last delivery; delivery latency p50/p95/p99/max of accepted messages;
the senders' echo (acknowledgement) latency and, apart, send -> refusal for refused
messages; messages accepted, refused (by error code: `room_busy`, `rate_limited`,
`held`, ...) and unanswered; deliveries lost by viewers that stayed open; viewers that
never joined and disconnects by close code (`4008` too slow, `1013` full, `sender N`
for a sender); markers out of order; CPU seconds and % of one core for the client
(this process and the viewer processes) and the server (`--pid`, with descendants,
e.g. `--workers` children) over the measured window; the 1-minute load average at its
start and end; viewers per node from `/metrics`. Senders are room members too: the
server sends them every message as well, which `delivered` does not count.

Exit status: 0 when `ok` (nothing silently lost and, outside `--overload`, nothing
refused, cut or missing), 1 when not, 2 when it could not run (a server that did not
start, a refused login or registration).

Modes:
  --batched        viewers and senders use `?batch=1`: one array frame per tick
                   (BATCH_TICK_MS), so latencies include up to one tick
  --overload       a rate above what the server takes: refusals and slow-consumer
                   closes (4008) are results, not failures; only silent loss fails
  --memory N       no senders: N idle viewers join, server RSS (VmRSS of the server
                   pids and descendants) before, after and once they left; KB per
                   connection. One viewer joins first and stays, so the room exists

Targets:
  --port 8000 [--pid 1234]            a running server; open its limits first (one IP,
                                      one viewer account, senders above 5 msg/s, and
                                      LOGIN_ATTEMPTS_PER_MINUTE above senders + 1, or
                                      --sender-user). The sender accounts stay behind.
  --port 8001,8002 --pid 11,12        nodes sharing rooms through a broker
  --start-server [--processes P] [--workers W] [--model keyword] [--server-env K=V]
      `safestream serve` on free ports, demo mode, stopped at the end; one node on
      SQLite, several (P nodes, or W workers on one port) on a fresh PostgreSQL schema
      (dropped at the end) and a Redis namespace (fanout_servers.py). Connection and
      per-socket message limits are opened; room bounds keep their defaults.

Bounded: only 127.0.0.1; `--seconds` bounds the run including starting servers (then
up to ~10 s to collect the viewer processes and ~20 s to stop a server); viewers,
processes and rates have upper bounds. `--profile out.svg` runs `py-spy record` on the
server pids for the measured window when py-spy is installed (it is not a dependency).

Run (started servers run this tree's code; the client needs no PYTHONPATH):
    .venv/bin/python load/bench_fanout.py --start-server --viewers 200 --messages 20 --rate 2
    .venv/bin/python load/bench_fanout.py --start-server --viewers 300 --senders 4 \\
        --rate 170 --send-secs 8 --batched --seconds 30            # ~50,000 deliveries/s
    .venv/bin/python load/bench_fanout.py --start-server --workers 2 --viewers 200 \\
        --senders 2 --rate 20 --send-secs 10 --seconds 40
    .venv/bin/python load/bench_fanout.py --start-server --viewers 100 --senders 4 \\
        --rate 3000 --send-secs 3 --overload --seconds 30
    .venv/bin/python load/bench_fanout.py --start-server --memory 300 --seconds 30
    .venv/bin/python load/bench_fanout.py --port 8000 --pid 1234 --viewers 100 --rate 10
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import Any

import httpx
import trio
from fanout_report import FanoutResult, MemoryResult, as_json, percentile, render
from fanout_run import run_fanout, run_memory
from fanout_servers import py_spy, start_servers

__all__ = ["main", "parse_args", "percentile", "run_fanout", "run_memory", "start_servers"]

MAX_VIEWERS = 10_000
MAX_RATE = 20_000.0
MAX_SECONDS = 600.0


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of integers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("an empty list")
    return values


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__[__doc__.index("Modes:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=_int_list, help="running server(s): 8000 or 8001,8002")
    where.add_argument("--start-server", action="store_true", help="run `safestream serve`")
    parser.add_argument("--pid", type=_int_list, help="with --port: server pid(s), for CPU/RSS")
    parser.add_argument("--processes", type=int, default=1, help="--start-server: nodes")
    parser.add_argument("--workers", type=int, default=1, help="--start-server: serve --workers")
    parser.add_argument(
        "--shared",
        action="store_true",
        help="--start-server: PostgreSQL and Redis even for one node (to compare with several)",
    )
    parser.add_argument("--model", default="keyword", help="--start-server: MODERATION_MODEL")
    parser.add_argument(
        "--server-env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="--start-server: a setting for the servers (repeat)",
    )
    parser.add_argument("--viewers", type=int, default=200, help="viewers in the room")
    parser.add_argument("--procs", type=int, help="viewer processes (default: 1 per 500)")
    parser.add_argument("--senders", type=int, default=1, help="sender accounts")
    sending = parser.add_mutually_exclusive_group()
    sending.add_argument("--messages", type=int, help="messages in all (default 20)")
    sending.add_argument("--send-secs", type=float, help="send for this long at --rate")
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second, all senders")
    parser.add_argument("--seconds", type=float, default=60.0, help="bound on the whole run")
    parser.add_argument("--drain", type=float, default=10.0, help="wait for deliveries (s)")
    parser.add_argument("--batched", action="store_true", help="viewers use ?batch=1")
    parser.add_argument("--overload", action="store_true", help="refusals/4008 are results")
    parser.add_argument("--memory", type=int, metavar="N", help="RSS of N idle connections")
    parser.add_argument("--room", default="fanout")
    parser.add_argument("--viewer-user", default="demo_user")
    parser.add_argument("--viewer-password", help="default: the user name (demo accounts)")
    parser.add_argument("--sender-user", help="one existing account for every sender")
    parser.add_argument("--sender-password")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="handshakes at once")
    parser.add_argument("--profile", metavar="OUT.svg", help="py-spy record the server")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    args.messages = (
        math.ceil(args.rate * args.send_secs) if args.send_secs is not None else args.messages or 20
    )
    if not (1 <= args.viewers <= MAX_VIEWERS and 1 <= (args.memory or 1) <= MAX_VIEWERS):
        parser.error(f"--viewers and --memory must be 1..{MAX_VIEWERS}")
    if not (1 <= args.messages <= 1_000_000 and 1 <= args.senders <= 100):
        parser.error("--messages must be 1..1000000 and --senders 1..100")
    if not (0 < args.rate <= MAX_RATE and 0 < args.seconds <= MAX_SECONDS):
        parser.error(f"--rate must be in (0, {MAX_RATE:g}] and --seconds in (0, {MAX_SECONDS:g}]")
    if not (1 <= args.processes <= 8 and 1 <= args.workers <= 8 and 1 <= (args.procs or 1) <= 16):
        parser.error("--processes and --workers must be 1..8, --procs 1..16")
    if args.pid and not args.port:
        parser.error("--pid goes with --port (--start-server knows its pids)")
    if args.memory and not (args.start_server or args.pid):
        parser.error("--memory needs the server's pid: --start-server or --pid")
    if args.profile and py_spy() is None:
        parser.error("--profile needs py-spy (pip install py-spy), which is not installed")
    return args


async def amain(args: argparse.Namespace) -> FanoutResult | MemoryResult:
    deadline = trio.current_time() + args.seconds
    options = {
        "procs": args.procs,
        "room": args.room,
        "viewer_user": args.viewer_user,
        "viewer_password": args.viewer_password,
        "connect_concurrency": args.connect_concurrency,
    }

    async def measure(ports: list[int], pids: list[int], env: dict[str, str]) -> Any:
        left = max(1.0, deadline - trio.current_time())
        if args.memory:
            return await run_memory(
                ports,
                connections=args.memory,
                server_pids=pids,
                seconds=left,
                server_env=env,
                **options,
            )
        return await run_fanout(
            ports,
            viewers=args.viewers,
            messages=args.messages,
            rate=args.rate,
            senders=args.senders,
            batched=args.batched,
            overload=args.overload,
            seconds=left,
            drain=args.drain,
            sender_user=args.sender_user,
            sender_password=args.sender_password,
            server_pids=pids,
            profile=args.profile,
            server_env=env,
            **options,
        )

    if not args.start_server:
        return await measure(args.port, args.pid or [], {})
    connections = (args.memory or args.viewers) + args.senders + 100
    async with start_servers(
        processes=args.processes,
        workers=args.workers,
        shared=args.shared,
        model=args.model,
        connections=connections,
        extra_env=dict(args.server_env),
        start_timeout=min(60.0, args.seconds),
    ) as servers:
        return await measure(servers.ports, servers.pids, servers.env)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when the result is `ok`, 1 when not, 2 when it could not run
    (a server that did not start, a refused login or registration)."""
    args = parse_args(argv)
    failure = ""
    try:
        result = trio.run(amain, args)
    except* (httpx.HTTPError, OSError, RuntimeError, trio.TooSlowError) as group:
        failure = "; ".join(f"{type(exc).__name__}: {exc}" for exc in group.exceptions)
    if failure:
        print(f"bench_fanout: cannot run: {failure}", file=sys.stderr)
        return 2
    print(as_json(result) if args.json else render(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Soak test: the real server under mixed traffic for a long time; is its memory flat?

Starts `safestream serve` itself on 127.0.0.1 (a free port, SQLite in a temporary
directory, demo mode, the default moderation model unless `--model`), then runs mixed
traffic for `--minutes` (default 30) at a moderate rate, all as in `load/soak_traffic.py`
and `load/soak_admin.py`:

* Warm-up first: the chatters send `--prime-lines` lines (3000, i.e. the server's
  default replay buffer of 1000 for each room) at 4 a second per socket, so the rooms'
  replay buffers are full and the model is past its first thousands of calls before
  the part of the run that is judged.
* `--chatters` users (6) chat in three rooms (`main`, `soak-b`, `soak-held`), one line
  every `--chat-interval` s each (4, uniform 0.5x-1.5x; 15 % toxic; ~1.5 lines/s in all).
  Each leaves after 1-4 min and comes back with `?since=`; a kicked one comes back too.
* `--viewers` users (4) join a random room, watch 10-60 s, in 30 % of visits drop and
  resume with `?since=`, leave, and come back.
* A moderator (`test_streamer`) acts every `--mod-interval` s (6) through the admin
  API: approve or reject held messages (`soak-held` holds toxic lines), mute (20 s),
  unmute, kick, delete a recent message, change the `soak-held` policy, read the audit
  log and messages.
* Gifts (`POST /api/gift`) every `--gift-interval` s (4); a dashboard's polling
  (`/metrics` every 2 s, rooms and top gifters) and the moderators' event stream.

Every `--sample-secs` (10) it samples the server process (RSS, open file descriptors,
threads, CPU, from /proc), the traffic counters and the actor tree (restarts, messages in
the rooms' replay buffers), and writes `soak.csv`, `soak.png` and `soak.json` to `--out`
(`docs/soak`; `--name` changes `soak`; `--replot` only draws the PNG again from them).

Pass or fail (exit status 0 or 1):

* **Memory flat**: the least-squares slope of RSS over the samples after the warm-up
  (the first third of the run) must be at most `--max-slope` MB/hour (default 10: a
  leak of one 2 KB copy of each chat line at this rate would be ~11 MB/hour). Runs
  shorter than 5 minutes (smoke runs) skip this check.
* **No fd leak**: after the traffic stops, the server's open files must come back to at
  most 20 above the count before the traffic.
* **No error**: the server must not exit, answer 5xx, close a socket with anything but a
  kick's 4000, restart an actor, log a traceback, or fail to stop cleanly; every chat
  line must be answered on a socket that stays open; any other unexpected answer counts
  too. Expected refusals (muted, 429, a kick) are counted apart.

Bounded: at most `MAX_MINUTES` minutes of traffic plus a fixed margin to start and stop,
a fixed number of sockets, only 127.0.0.1.

Run:
    make soak                                           # 30 minutes, default model
    .venv/bin/python load/soak.py --minutes 0.2 --model keyword --out /tmp/soak
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import trio
from soak_admin import dashboard, gifter, moderator, refresh_tokens
from soak_report import (
    Sample,
    Verdict,
    judge,
    read_csv,
    read_process,
    write_csv,
    write_plot,
)
from soak_traffic import PASSWORD, Soak, chatter, hold_policy, primer, viewer

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
MAX_MINUTES = 240.0
START_TIMEOUT_SECS = 120.0
SETTLE_SECS = 20.0
STOP_TIMEOUT_SECS = 30.0
MIN_MINUTES_FOR_MEMORY = 5.0
FD_ALLOWANCE = 20
MODERATOR = "test_streamer"


@dataclass(frozen=True)
class Server:
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path, port: int, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "SAFESTREAM_MODE": "demo",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir}/soak.db",
            "APP_HOST": HOST,
            "APP_PORT": str(port),
            # Every account logs in from this one address, again every 10 minutes.
            "LOGIN_ATTEMPTS_PER_MINUTE": "1000",
        }
    )
    env.pop("MODERATION_MODEL", None)
    if args.model:
        env["MODERATION_MODEL"] = args.model
    if args.replay_buffer:
        env["REPLAY_BUFFER_SIZE"] = str(args.replay_buffer)
    return env


@asynccontextmanager
async def start_server(args: argparse.Namespace, outcome: dict[str, Any]) -> AsyncIterator[Server]:
    """`safestream serve` on a free port; stopped with SIGINT on exit, its exit status and
    the tracebacks in its log recorded in `outcome`."""
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        log_path = data_dir / "server.log"
        with log_path.open("wb") as log:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "safestream.cli", "serve"],
                env=server_env(data_dir, port, args),
                cwd=str(REPO),
                stdout=log,
                stderr=log,
            )
        server = Server(process.pid, port)
        try:
            with trio.fail_after(START_TIMEOUT_SECS):
                async with httpx.AsyncClient(base_url=server.url) as http:
                    while True:
                        if process.poll() is not None:
                            raise RuntimeError("server exited early:\n" + _tail(log_path))
                        try:
                            if (await http.get("/health", timeout=2)).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                        await trio.sleep(0.3)
            yield server
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.send_signal(signal.SIGINT)
                    with trio.move_on_after(STOP_TIMEOUT_SECS):
                        await process.wait()
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
                        outcome["stop"] = "killed after not stopping within 30 s"
                outcome["exit_status"] = process.returncode
                text = log_path.read_text(errors="replace")
                outcome["tracebacks"] = text.count("Traceback (most recent call last)")
                outcome["log_tail"] = _tail(log_path)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


async def setup(soak: Soak) -> None:
    """Register the soak's accounts, log everyone in, give `soak-held` a hold policy."""
    passwords = soak.passwords
    passwords[MODERATOR] = MODERATOR
    for user in (*soak.chatters, *soak.viewers):
        body = {"username": user, "password": PASSWORD, "email": f"{user}@example.org"}
        response = await soak.http.post("/auth/register", json=body)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"register {user}: {response.status_code} {response.text}")
        passwords[user] = PASSWORD
    for user, password in passwords.items():
        await soak.login(user, password)
        if user not in soak.tokens:
            raise RuntimeError(f"cannot log in {user}: {dict(soak.tally.errors)}")
    response = await soak.http.put(
        f"/api/admin/rooms/{soak.rooms[-1]}/policy",
        json=hold_policy(0.5),
        headers=soak.auth(MODERATOR),
    )
    if response.status_code != 200:
        raise RuntimeError(f"policy: {response.status_code} {response.text}")


async def actor_tree(soak: Soak) -> tuple[int, int]:
    """(actor restarts in total, messages in the rooms' replay buffers); -1 if unknown."""
    try:
        response = await soak.http.get("/api/actors", headers=soak.auth(MODERATOR), timeout=30)
    except httpx.HTTPError:
        return -1, -1
    if response.status_code != 200:
        return -1, -1
    restarts = replay = 0
    stack = [response.json()]
    while stack:
        node = stack.pop()
        restarts += int(node.get("restarts", 0))
        if node.get("kind") == "room":
            replay += int(node.get("info", {}).get("replay", 0))
        stack.extend(node.get("children", []))
    return restarts, replay


async def sampler(
    soak: Soak, server: Server, samples: list[Sample], every: float, gone: trio.CancelScope
) -> None:
    start = trio.current_time()
    while True:
        reading = read_process(server.pid)
        if reading is None:
            soak.tally.errors["server exited during the run"] += 1
            gone.cancel()
            return
        restarts, replay = await actor_tree(soak)
        t = soak.tally
        samples.append(
            Sample(
                t=trio.current_time() - start,
                rss_mb=reading.rss_mb,
                fds=reading.fds,
                threads=reading.threads,
                cpu_secs=reading.cpu_secs,
                sockets=t.sockets,
                chat_sent=t.chat_sent,
                chat_acked=t.chat_acked,
                frames_received=t.frames_received,
                http_requests=t.http_requests,
                ws_opens=t.ws_opens,
                reconnects=t.reconnects,
                mod_actions=sum(t.mod_actions.values()),
                gifts=t.gifts,
                refused=sum(t.refused.values()),
                errors=sum(t.errors.values()),
                restarts=restarts,
                replay=replay,
            )
        )
        await trio.sleep(every)


async def settle_fds(pid: int, target: int) -> int | None:
    """The server's open files once they are back to `target` (or after SETTLE_SECS)."""
    reading = read_process(pid)
    with trio.move_on_after(SETTLE_SECS):
        while reading is not None and reading.fds > target:
            await trio.sleep(0.5)
            reading = read_process(pid)
    return None if reading is None else reading.fds


@dataclass
class Result:
    """What a run measured, before it is written out."""

    summary: dict[str, Any]
    samples: list[Sample]
    verdict: Verdict
    log_tail: str


async def traffic(
    soak: Soak, server: Server, args: argparse.Namespace, samples: list[Sample]
) -> None:
    """Every traffic task and the sampler, for `--minutes` or until the server is gone."""
    with trio.move_on_after(args.minutes * 60) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sampler, soak, server, samples, args.sample_secs, scope)
            share = args.prime_lines // len(soak.chatters)
            for index, user in enumerate(soak.chatters):
                room = soak.rooms[index % len(soak.rooms)]
                nursery.start_soon(primer, soak, user, room, share)
                nursery.start_soon(chatter, soak, user, room)
            for user in soak.viewers:
                nursery.start_soon(viewer, soak, user)
            nursery.start_soon(moderator, soak, args.mod_interval)
            nursery.start_soon(gifter, soak, args.gift_interval)
            nursery.start_soon(dashboard, soak)
            nursery.start_soon(refresh_tokens, soak)


async def run(args: argparse.Namespace) -> Result:
    outcome: dict[str, Any] = {}
    samples: list[Sample] = []
    duration = args.minutes * 60
    started = datetime.now(UTC)
    with trio.fail_after(duration + START_TIMEOUT_SECS + STOP_TIMEOUT_SECS + 120):
        async with (
            start_server(args, outcome) as server,
            httpx.AsyncClient(base_url=server.url) as http,
        ):
            soak = Soak(
                base_url=server.url,
                http=http,
                rng=random.Random(args.seed),
                chat_interval=args.chat_interval,
                chatters=tuple(f"soak_c{i}" for i in range(args.chatters)),
                viewers=tuple(f"soak_v{i}" for i in range(args.viewers)),
                moderator=MODERATOR,
            )
            await setup(soak)
            before = read_process(server.pid)
            fds_before = before.fds if before else 0
            await traffic(soak, server, args, samples)
            restarts, _ = await actor_tree(soak)
            fds_after = await settle_fds(server.pid, fds_before + FD_ALLOWANCE)
    tally = soak.tally
    errors = dict(tally.errors)
    restarts = max([restarts, *(sample.restarts for sample in samples)])
    if restarts > 0:
        errors["actor restarts"] = restarts
    elif restarts < 0:
        errors["actor tree unreadable"] = 1
    if outcome.get("exit_status") != 0:
        errors[f"server exit status {outcome.get('exit_status')}"] = 1
    if outcome.get("tracebacks"):
        errors["tracebacks in the server log"] = outcome["tracebacks"]
    verdict = judge(
        samples,
        duration_secs=duration,
        fds_before=fds_before,
        fds_after=fds_after,
        max_slope_mb_per_hour=args.max_slope,
        fd_allowance=FD_ALLOWANCE,
        errors=errors,
        min_minutes_for_memory=MIN_MINUTES_FOR_MEMORY,
    )
    counts = {k: v for k, v in asdict(tally).items() if not isinstance(v, dict)}
    del counts["sockets"]
    summary = {
        "started": started.isoformat(timespec="seconds"),
        "minutes": args.minutes,
        "model": args.model or "default",
        "samples": len(samples),
        "verdict": verdict.as_dict(),
        "traffic": counts,
        "mod_actions": dict(tally.mod_actions),
        "frames": dict(tally.frames),
        "refused": dict(tally.refused),
        "errors": errors,
    }
    return Result(summary, samples, verdict, outcome.get("log_tail", ""))


def write_outputs(result: Result, out: Path, name: str) -> None:
    """`name`.csv, `name`.json and `name`.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{name}.csv", result.samples)
    (out / f"{name}.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    plot(out, name, result.samples, result.summary, result.verdict)


def plot(
    out: Path, name: str, samples: list[Sample], summary: dict[str, Any], verdict: Verdict
) -> None:
    title = (
        f"SafeStream soak: {summary['minutes']:g} min, model {summary['model']}, "
        f"started {summary['started']}"
    )
    write_plot(out / f"{name}.png", samples, verdict, title)


def replot(out: Path, name: str) -> None:
    """Draw `name`.png again from `name`.csv and `name`.json (after changing the plot)."""
    summary = json.loads((out / f"{name}.json").read_text())
    data = {k: v for k, v in summary["verdict"].items() if k != "ok"}
    verdict = Verdict(**{**data, "problems": tuple(data["problems"])})
    plot(out, name, read_csv(out / f"{name}.csv"), summary, verdict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="traffic duration")
    parser.add_argument("--model", help="MODERATION_MODEL (default: the server's default)")
    parser.add_argument("--out", default=str(REPO / "docs" / "soak"), help="output folder")
    parser.add_argument("--name", default="soak", help="output file names: NAME.csv ...")
    parser.add_argument("--replot", action="store_true", help="only redraw NAME.png")
    parser.add_argument("--sample-secs", type=float, default=10.0)
    parser.add_argument("--chatters", type=int, default=6)
    parser.add_argument("--viewers", type=int, default=4)
    parser.add_argument("--chat-interval", type=float, default=4.0, help="mean s per line")
    parser.add_argument("--mod-interval", type=float, default=6.0, help="mean s per action")
    parser.add_argument("--gift-interval", type=float, default=4.0, help="mean s per gift")
    parser.add_argument("--prime-lines", type=int, default=3000, help="warm-up lines, in all")
    parser.add_argument("--replay-buffer", type=int, help="REPLAY_BUFFER_SIZE (server default)")
    parser.add_argument("--max-slope", type=float, default=10.0, help="MB/hour after warm-up")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes must be in (0, {MAX_MINUTES:g}]")
    if not (1 <= args.chatters <= 50 and 1 <= args.viewers <= 50):
        parser.error("--chatters and --viewers must be 1..50")
    intervals = (args.chat_interval, args.mod_interval, args.gift_interval, args.sample_secs)
    if not all(0.5 <= interval <= 600 for interval in intervals):
        parser.error("--chat-interval, --mod-interval, --gift-interval, --sample-secs: 0.5..600")
    if not 0 <= args.prime_lines <= 100_000:
        parser.error("--prime-lines must be 0..100000")
    if args.replay_buffer is not None and not 1 <= args.replay_buffer <= 100_000:
        parser.error("--replay-buffer must be 1..100000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replot:
        replot(Path(args.out), args.name)
        return 0
    result = trio.run(run, args)
    write_outputs(result, Path(args.out), args.name)
    print(json.dumps(result.summary, indent=2))
    if not result.verdict.ok:
        print("soak FAILED:\n  " + "\n  ".join(result.verdict.problems), file=sys.stderr)
        print(result.log_tail, file=sys.stderr)
        return 1
    print(f"soak passed; results in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

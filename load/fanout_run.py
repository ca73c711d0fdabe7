"""One fan-out or memory measurement against running servers (see bench_fanout.py).

`run_fanout` spreads the viewers over `procs` viewer processes (`fanout_procs.py`)
and over the servers' ports round-robin, waits until every viewer has joined, then
runs the senders in this process and waits until every accepted message has reached
every viewer still open (or `drain` seconds after the last send). The measured window
(CPU, load average, the optional py-spy profile) is from the first send to that point.
`run_memory` opens idle viewers instead and reads the servers' RSS before and after.

Both stop by themselves: everything they start (viewer processes, sockets, py-spy) is
stopped on the way out, at most `seconds` after the call plus a few seconds to collect.

Example:
    result = await run_fanout([8000], viewers=200, messages=300, rate=20.0, senders=2,
                              server_pids=[pid])
"""

from __future__ import annotations

import math
import os
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio
from fanout_procs import (
    Child,
    Window,
    default_procs,
    stop_children,
    viewer_configs,
    viewer_processes,
)
from fanout_report import (
    FanoutResult,
    MemoryResult,
    histogram_percentile,
    merge_histograms,
    ms,
    pct,
    percentile,
)
from fanout_senders import Sender, login, sender_accounts
from fanout_servers import HOST, node_viewers, profiling, rss_kb
from fanout_viewers import ShardResult, SharedMarks
from wsclient import Closed, RawWebSocket
from wsload import HandshakeFailed

__all__ = ["default_procs", "run_fanout", "run_memory"]


@dataclass
class Phase:
    """What the measured phase got to, also when the deadline cut it short."""

    senders: list[Sender] = field(default_factory=list)
    connect_secs: float = 0.0
    profiles: list[str] = field(default_factory=list)
    node_viewers: dict[str, int] = field(default_factory=dict)


async def _until_delivered(children: list[Child], senders: list[Sender]) -> None:
    """Returns when every sent message is answered and every accepted one has reached
    every viewer still open (as the viewer processes last reported), or every sender
    without an answer is closed."""
    while True:
        # A closed sender's unanswered messages stay unanswered: the close told it so.
        waiting = any(s.answered < len(s.sent) and s.close is None for s in senders)
        echoed = sum(s.answered - sum(s.refusals.values()) for s in senders)
        delivered_open = sum(c.progress.get("delivered_open", 0) for c in children)
        still_open = sum(c.progress.get("open", 0) for c in children)
        if not waiting and delivered_open >= echoed * still_open:
            return
        await trio.sleep(0.05)


async def _measure(
    phase: Phase,
    window: Window,
    children: list[Child],
    senders: list[Sender],
    ports: Sequence[int],
    paths: list[str],
    drain: float,
    profile: str | None,
) -> None:
    t0 = trio.current_time()
    for child in children:
        await child.ready.wait()
    phase.connect_secs = trio.current_time() - t0
    if not sum(child.ready_info.get("ready", 0) for child in children):
        return
    for index, (sender, path) in enumerate(zip(senders, paths, strict=True)):
        phase.senders.append(sender)
        try:
            await sender.connect(HOST, ports[index % len(ports)], path)
        except (Closed, HandshakeFailed, OSError) as exc:
            sender.close = f"connect {getattr(exc, 'code', None) or type(exc).__name__}"
    senders = [sender for sender in senders if sender.close is None]
    async with profiling(window.server_pids if profile else [], profile or "") as outs:
        phase.profiles = outs
        window.open()
        async with trio.open_nursery() as nursery:
            for sender in senders:
                nursery.start_soon(sender.read)
            start = time.monotonic() + 0.01
            async with trio.open_nursery() as sending:
                for sender in senders:
                    sending.start_soon(sender.send_all, start)
            with trio.move_on_after(drain):
                await _until_delivered(children, senders)
            window.close()
            nursery.cancel_scope.cancel()
    with trio.move_on_after(3):
        phase.node_viewers = await node_viewers(ports[0])


async def run_fanout(
    ports: Sequence[int],
    *,
    viewers: int = 200,
    messages: int = 20,
    rate: float = 2.0,
    senders: int = 1,
    procs: int | None = None,
    batched: bool = False,
    overload: bool = False,
    seconds: float = 60.0,
    drain: float = 10.0,
    room: str = "fanout",
    viewer_user: str = "demo_user",
    viewer_password: str | None = None,
    sender_user: str | None = None,
    sender_password: str | None = None,
    server_pids: Sequence[int] = (),
    profile: str | None = None,
    connect_concurrency: int = 50,
    server_env: dict[str, str] | None = None,
) -> FanoutResult:
    """Measure fan-out from `senders` to `viewers` in one room; see the module docstring."""
    procs = procs or default_procs(viewers)
    deadline = trio.current_time() + seconds
    result = FanoutResult(
        viewers, 0, procs, senders, batched, overload, list(ports), rate, messages
    )
    result.server_env = dict(server_env or {})
    tag = secrets.token_hex(4)
    base = f"http://{HOST}:{ports[0]}"
    with trio.move_on_at(deadline):
        token = await login(base, viewer_user, viewer_password or viewer_user)
        accounts = await sender_accounts(base, senders, tag, sender_user, sender_password)
    if trio.current_time() >= deadline:
        result.timed_out = True
        return result
    viewer_path = f"/ws/{viewer_user}?room={room}&token={token}" + ("&batch=1" if batched else "")
    sender_paths = [f"/ws/{user}?room={room}&token={tok}" for user, tok in accounts]
    if batched:
        sender_paths = [f"{path}&batch=1" for path in sender_paths]
    echo_at = [math.nan] * messages
    phase = Phase()
    with tempfile.TemporaryDirectory(prefix="fanout-run-") as tmp:
        marks = SharedMarks.create(Path(tmp) / "marks", messages)
        try:
            configs = viewer_configs(
                ports, viewers, procs, viewer_path, tag, marks, senders, connect_concurrency
            )
            async with viewer_processes(configs) as children:
                window = Window(
                    [os.getpid()] + [c.process.pid for c in children], list(server_pids)
                )
                crew = [
                    Sender(k, senders, tag, marks, rate=rate, echo_at=echo_at)
                    for k in range(senders)
                ]
                with trio.move_on_at(deadline) as active:
                    await _measure(
                        phase, window, children, crew, ports, sender_paths, drain, profile
                    )
                window.close()
                result.timed_out = active.cancelled_caught
                shards = await stop_children(children)
            for sender in phase.senders:
                if sender.ws is not None:
                    await sender.ws.aclose()
            _summarise(result, phase, window, shards, marks, echo_at)
        finally:
            marks.close()
    return result


def add_shard_counts(
    shards: list[ShardResult], failures: dict[str, int], closes: dict[str, int]
) -> None:
    """Add every viewer process's connect failures and close codes to the run's."""
    for shard in shards:
        for key, n in shard.failed.items():
            failures[key] = failures.get(key, 0) + n
        for key, n in shard.closes.items():
            closes[key] = closes.get(key, 0) + n


def _summarise(
    result: FanoutResult,
    phase: Phase,
    window: Window,
    shards: list[ShardResult],
    marks: SharedMarks,
    echo_at: list[float],
) -> None:
    senders = phase.senders
    sent = [n for s in senders for n in s.sent]
    sent_at = marks.sent_at
    accepted = [n for n in sent if not math.isnan(echo_at[n]) or marks.seen[n]]
    result.messages_sent = len(sent)
    result.accepted = len(accepted)
    result.refused = sum(sum(s.refusals.values()) for s in senders)
    result.unanswered = max(0, len(sent) - len(accepted) - result.refused)
    result.unanswered_silent = sum(
        max(0, len(s.sent) - s.answered) for s in senders if s.close is None
    )
    result.viewers_ready = sum(shard.ready for shard in shards)
    result.viewers_open = sum(shard.open for shard in shards)
    result.expected = len(accepted) * result.viewers_open
    result.delivered = sum(shard.delivered for shard in shards)
    result.lost = max(0, result.expected - sum(shard.delivered_open for shard in shards))
    result.out_of_order = sum(shard.out_of_order for shard in shards)
    add_shard_counts(shards, result.connect_failures, result.closes)
    for sender in senders:
        if sender.close is not None:
            result.closes[f"sender {sender.close}"] = (
                result.closes.get(f"sender {sender.close}", 0) + 1
            )
        for code, n in sender.refusals.items():
            result.refusals[code] = result.refusals.get(code, 0) + n
    result.send_lag_max_ms = ms(max((s.lag_max for s in senders), default=0.0))
    result.connect_secs = round(phase.connect_secs, 2)
    last_receipt = max((shard.last_receipt for shard in shards), default=0.0)
    first_send = min((sent_at[n] for n in sent), default=0.0)
    duration = last_receipt - first_send if result.delivered else 0.0
    result.duration_secs = round(duration, 3)
    result.deliveries_per_sec = round(result.delivered / duration, 1) if duration > 0 else 0.0
    histogram = merge_histograms(shard.histogram for shard in shards)
    for q, name in ((50, "p50_ms"), (95, "p95_ms"), (99, "p99_ms")):
        setattr(result, name, ms(histogram_percentile(histogram, q)))
    result.max_ms = (
        ms(max((s.max_latency for s in shards), default=math.nan)) if histogram else math.nan
    )
    acks = sorted(echo_at[n] - sent_at[n] for n in sent if not math.isnan(echo_at[n]))
    result.ack_p50_ms, result.ack_p99_ms = ms(percentile(acks, 50)), ms(percentile(acks, 99))
    refusals = sorted(t for s in senders for t in s.refusal_latencies())
    result.refusal_p50_ms = ms(percentile(refusals, 50))
    result.refusal_max_ms = ms(refusals[-1]) if refusals else math.nan
    wall = window.end - window.start
    result.measured_secs = round(wall, 2) if not math.isnan(wall) else 0.0
    result.client_cpu_secs = round(window.client_cpu, 2) if not math.isnan(wall) else 0.0
    result.client_cpu_pct = pct(window.client_cpu, wall)
    result.server_cpu_secs = round(window.server_cpu, 2)
    result.server_cpu_pct = pct(window.server_cpu, wall)
    if result.delivered and not math.isnan(window.server_cpu):
        result.server_cpu_us_per_delivery = round(window.server_cpu / result.delivered * 1e6, 1)
    result.loadavg_start, result.loadavg_end = window.load_start, window.load_end
    result.profiles = phase.profiles
    result.node_viewers = phase.node_viewers


async def run_memory(
    ports: Sequence[int],
    *,
    connections: int,
    server_pids: Sequence[int],
    procs: int | None = None,
    seconds: float = 60.0,
    room: str = "fanout",
    viewer_user: str = "demo_user",
    viewer_password: str | None = None,
    settle: float = 2.0,
    connect_concurrency: int = 50,
    server_env: dict[str, str] | None = None,
) -> MemoryResult:
    """Server RSS before and after `connections` idle viewers join `room`, and after
    they leave. One viewer joins first and stays, so the room exists in 'before'."""
    procs = procs or default_procs(connections)
    pids = list(server_pids)
    result = MemoryResult(connections, 0, procs, list(ports), server_env=dict(server_env or {}))
    result.loadavg_start = round(os.getloadavg()[0], 2)
    path = ""
    warm: RawWebSocket | None = None
    with trio.move_on_after(seconds) as active:
        token = await login(
            f"http://{HOST}:{ports[0]}", viewer_user, viewer_password or viewer_user
        )
        path = f"/ws/{viewer_user}?room={room}&token={token}"
        warm = await RawWebSocket.connect(HOST, ports[0], path)
        await warm.receive()
        await trio.sleep(settle)
        result.rss_before_kb = rss_kb(pids)
        with tempfile.TemporaryDirectory(prefix="fanout-mem-") as tmp:
            marks = SharedMarks.create(Path(tmp) / "marks", 0)
            try:
                configs = viewer_configs(
                    ports, connections, procs, path, "00000000", marks, 1, connect_concurrency
                )
                async with viewer_processes(configs) as children:
                    t0 = trio.current_time()
                    for child in children:
                        await child.ready.wait()
                    result.connect_secs = round(trio.current_time() - t0, 2)
                    await trio.sleep(settle)
                    result.rss_after_kb = rss_kb(pids)
                    shards = await stop_children(children)
            finally:
                marks.close()
        result.ready = sum(shard.ready for shard in shards)
        add_shard_counts(shards, result.connect_failures, result.closes)
        if result.ready:
            result.kb_per_connection = round(
                (result.rss_after_kb - result.rss_before_kb) / result.ready, 1
            )
        await trio.sleep(settle)
        result.rss_closed_kb = rss_kb(pids)
    if warm is not None:
        await warm.aclose()
    result.timed_out = active.cancelled_caught
    result.loadavg_end = round(os.getloadavg()[0], 2)
    return result

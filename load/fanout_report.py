"""What a fan-out benchmark reports, and the arithmetic behind it (no I/O).

`FanoutResult` is one measurement: deliveries per second over first send -> last
receipt, delivery latency of accepted messages (from the merged 10 µs histograms of
the viewer processes), the senders' acknowledgement (echo) latency and, apart, how
long refused messages waited for their refusal; failures by kind (viewers that never
joined, disconnects by close code, refusals by error code, deliveries lost by viewers
that stayed open, markers out of order); CPU of client and server and the load
average. `MemoryResult` is one `--memory` measurement.

Example:
    hist = merge_histograms([[[120, 3], [200, 1]], [[120, 1]]])   # {120: 4, 200: 1}
    p99 = histogram_percentile(hist, 99) * 1000                      # ms
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from fanout_viewers import BUCKET_SECS

__all__ = [
    "FanoutResult",
    "MemoryResult",
    "as_json",
    "histogram_percentile",
    "merge_histograms",
    "ms",
    "percentile",
    "render",
]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted `values` (q in 0..100), NaN when empty."""
    if not values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(values)))
    return values[rank - 1]


def merge_histograms(histograms: Iterable[list[list[int]]]) -> Counter[int]:
    merged: Counter[int] = Counter()
    for histogram in histograms:
        for bucket, count in histogram:
            merged[bucket] += count
    return merged


def histogram_percentile(histogram: Counter[int], q: float) -> float:
    """Nearest-rank percentile in seconds: the upper edge of the bucket holding it."""
    total = sum(histogram.values())
    if not total:
        return math.nan
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return (bucket + 1) * BUCKET_SECS
    raise AssertionError("unreachable: the ranks add up to the total")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2) if not math.isnan(seconds) else math.nan


def pct(cpu: float, wall: float) -> float:
    return round(100 * cpu / wall, 1) if wall > 0 and not math.isnan(cpu) else math.nan


@dataclass
class FanoutResult:
    viewers: int
    viewers_ready: int
    procs: int
    senders: int
    batched: bool
    overload: bool
    ports: list[int]
    rate: float  # messages per second, all senders
    messages: int  # planned
    messages_sent: int = 0
    accepted: int = 0  # echoed to their sender, or seen by a viewer
    refused: int = 0  # answered with an error, held or blocked
    unanswered: int = 0  # sent, neither accepted nor refused by the end
    unanswered_silent: int = 0  # of those, sent on a socket still open (not told)
    viewers_open: int = 0  # ready and still open at the end
    expected: int = 0  # accepted x viewers_open
    delivered: int = 0  # by every viewer, including those closed later
    lost: int = 0  # expected - what viewers still open got
    out_of_order: int = 0  # a sender's marker at or below one the viewer already had
    connect_failures: dict[str, int] = field(default_factory=dict)
    closes: dict[str, int] = field(default_factory=dict)  # after joining; "sender N" too
    refusals: dict[str, int] = field(default_factory=dict)
    send_lag_max_ms: float = 0.0  # how far a sender fell behind its schedule
    connect_secs: float = 0.0
    duration_secs: float = 0.0  # first send -> last delivery
    deliveries_per_sec: float = 0.0
    p50_ms: float = math.nan  # delivery latency of accepted messages
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    ack_p50_ms: float = math.nan  # send -> the sender's own echo
    ack_p99_ms: float = math.nan
    refusal_p50_ms: float = math.nan  # send -> its refusal (see fanout_senders)
    refusal_max_ms: float = math.nan
    timed_out: bool = False
    measured_secs: float = 0.0  # the window the CPU figures cover
    client_cpu_secs: float = 0.0  # this process and the viewer processes
    client_cpu_pct: float = 0.0
    server_cpu_secs: float = math.nan  # the server pids and their descendants
    server_cpu_pct: float = math.nan
    server_cpu_us_per_delivery: float = math.nan
    loadavg_start: float = math.nan
    loadavg_end: float = math.nan
    node_viewers: dict[str, int] = field(default_factory=dict)  # /metrics, at the end
    server_env: dict[str, str] = field(default_factory=dict)  # set by --start-server
    profiles: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing silently lost (a delivery to a viewer still open, an answer on a
        sender's socket still open); outside `--overload`, nothing refused or cut either."""
        clean = self.messages_sent > 0 and self.lost == 0 and self.out_of_order == 0
        clean = clean and not self.timed_out and self.unanswered_silent == 0
        if self.overload:
            return clean
        return (
            clean
            and self.viewers_ready == self.viewers
            and not self.closes
            and not self.refusals
            and self.unanswered == 0
            and self.accepted == self.messages_sent
        )


@dataclass
class MemoryResult:
    connections: int
    ready: int
    procs: int
    ports: list[int]
    connect_failures: dict[str, int] = field(default_factory=dict)
    closes: dict[str, int] = field(default_factory=dict)
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    rss_closed_kb: int = 0  # after the connections closed again
    kb_per_connection: float = math.nan
    connect_secs: float = 0.0
    timed_out: bool = False
    loadavg_start: float = math.nan
    loadavg_end: float = math.nan
    server_env: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.ready == self.connections and not self.timed_out and self.rss_after_kb > 0


def as_json(result: FanoutResult | MemoryResult) -> str:
    """The result as strict JSON: a figure that could not be measured (NaN) is null."""
    fields = {
        key: None if isinstance(value, float) and math.isnan(value) else value
        for key, value in asdict(result).items()
    }
    return json.dumps({**fields, "ok": result.ok}, allow_nan=False)


def render(result: FanoutResult | MemoryResult) -> str:
    """One `name: value` line per field (dicts inline)."""
    lines = []
    for key, value in asdict(result).items():
        shown: Any = value
        if isinstance(value, dict) and key == "server_env":
            shown = " ".join(f"{k}={v}" for k, v in value.items()) or "{}"
        lines.append(f"{key:>26}: {shown}")
    lines.append(f"{'ok':>26}: {result.ok}")
    return "\n".join(lines)

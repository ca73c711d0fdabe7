"""The soak's measurements and verdict: process samples, RSS slope, CSV, PNG, summary.

Pure functions and small dataclasses, no I/O except reading `/proc` (`read_process`) and
writing the outputs (`write_csv`, `write_plot`); `load/soak.py` drives them. Kept apart
so the verdict can be tested on made-up samples.

Memory is "flat" when the least-squares slope of RSS over the samples after the warm-up
(the first third of the run) is at most `max_slope_mb_per_hour`. File descriptors are
"not leaking" when, after the traffic has stopped and the server had a moment to close
its sockets, the count is at most `fd_allowance` above the quiet count taken before the
traffic started (the allowance covers pools that open lazily, e.g. database connections).

Example:
    samples = [Sample(t=i * 10.0, rss_mb=500.0, fds=30) for i in range(60)]
    verdict = judge(samples, duration_secs=600, fds_before=20, fds_after=22, ...)
    assert verdict.ok
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "ProcessReading",
    "Sample",
    "Verdict",
    "judge",
    "read_csv",
    "read_process",
    "slope_per_hour",
    "write_csv",
    "write_plot",
]

WARMUP_FRACTION = 1 / 3
MIN_SAMPLES_FOR_SLOPE = 6


@dataclass(frozen=True)
class ProcessReading:
    """What `/proc` says about one process at one moment."""

    rss_mb: float
    fds: int
    threads: int
    cpu_secs: float


def read_process(pid: int) -> ProcessReading | None:
    """RSS, open file descriptors, threads and CPU time of `pid`; None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(values["VmRSS"].split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    return ProcessReading(
        rss_mb=rss_kb / 1024,
        fds=fds,
        threads=int(values["Threads"]),
        cpu_secs=(int(stat[11]) + int(stat[12])) / ticks,
    )


@dataclass(frozen=True)
class Sample:
    """One row of the CSV: the server process and the traffic counters at time `t`.

    Counters are cumulative since the traffic started; `sockets` is how many of the
    soak's WebSockets were open; `restarts` and `replay` come from the server's actor
    tree (actor restarts in total, messages held in the rooms' replay buffers).
    """

    t: float
    rss_mb: float
    fds: int
    threads: int = 0
    cpu_secs: float = 0.0
    sockets: int = 0
    chat_sent: int = 0
    chat_acked: int = 0
    frames_received: int = 0
    http_requests: int = 0
    ws_opens: int = 0
    reconnects: int = 0
    mod_actions: int = 0
    gifts: int = 0
    refused: int = 0
    errors: int = 0
    restarts: int = 0
    replay: int = 0


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of `(seconds, value)` points, in value units per hour.

    NaN with fewer than two distinct times.
    """
    n = len(points)
    if n < 2:
        return math.nan
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    if var_t == 0:
        return math.nan
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var_t * 3600


@dataclass(frozen=True)
class Verdict:
    """The soak's outcome; `ok` is what the exit code says."""

    rss_start_mb: float
    rss_end_mb: float
    rss_max_mb: float
    rss_slope_mb_per_hour: float
    max_slope_mb_per_hour: float
    warmup_secs: float
    memory_checked: bool
    fds_before: int
    fds_max: int
    fds_after: int
    fd_allowance: int
    errors: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["problems"] = list(self.problems)
        return data


def judge(
    samples: Sequence[Sample],
    *,
    duration_secs: float,
    fds_before: int,
    fds_after: int | None,
    max_slope_mb_per_hour: float,
    fd_allowance: int,
    errors: dict[str, int],
    min_minutes_for_memory: float,
) -> Verdict:
    """Decide the run: memory flat after the warm-up, no fd leak, no server error.

    Runs shorter than `min_minutes_for_memory` (smoke runs) skip the memory check: a slope
    over a few seconds says nothing about an hour.
    """
    problems: list[str] = []
    warmup = duration_secs * WARMUP_FRACTION
    warm = [s for s in samples if s.t >= warmup]
    slope = slope_per_hour([(s.t, s.rss_mb) for s in warm])
    checked = duration_secs >= min_minutes_for_memory * 60
    if checked:
        if len(warm) < MIN_SAMPLES_FOR_SLOPE or math.isnan(slope):
            problems.append(f"only {len(warm)} samples after the warm-up: cannot judge memory")
        elif slope > max_slope_mb_per_hour:
            problems.append(
                f"RSS grows {slope:.1f} MB/hour after the warm-up "
                f"(limit {max_slope_mb_per_hour:g} MB/hour)"
            )
    if fds_after is None:
        problems.append("the server's open files could not be read after the run")
    elif fds_after > fds_before + fd_allowance:
        problems.append(
            f"open files {fds_before} before the traffic, {fds_after} after it "
            f"(allowance {fd_allowance})"
        )
    for kind, count in sorted(errors.items()):
        problems.append(f"error: {kind} x{count}")
    return Verdict(
        rss_start_mb=round(samples[0].rss_mb, 1) if samples else math.nan,
        rss_end_mb=round(samples[-1].rss_mb, 1) if samples else math.nan,
        rss_max_mb=round(max(s.rss_mb for s in samples), 1) if samples else math.nan,
        rss_slope_mb_per_hour=round(slope, 2),
        max_slope_mb_per_hour=max_slope_mb_per_hour,
        warmup_secs=round(warmup, 1),
        memory_checked=checked,
        fds_before=fds_before,
        fds_max=max((s.fds for s in samples), default=0),
        fds_after=-1 if fds_after is None else fds_after,
        fd_allowance=fd_allowance,
        errors=dict(errors),
        problems=tuple(problems),
    )


def write_csv(path: Path, samples: Sequence[Sample]) -> None:
    """One row per sample; the header is `Sample`'s field names."""
    names = [f.name for f in fields(Sample)]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for sample in samples:
            row = asdict(sample)
            writer.writerow(
                [f"{row[n]:.2f}" if isinstance(row[n], float) else row[n] for n in names]
            )


def write_plot(path: Path, samples: Sequence[Sample], verdict: Verdict, title: str) -> None:
    """A PNG with four panels: RSS, RSS after the warm-up (zoomed, with the fitted slope),
    open files, traffic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s.t / 60 for s in samples]
    fig, (rss, zoom, fds, traffic) = plt.subplots(4, 1, figsize=(9, 12), sharex=True)
    fig.suptitle(title, fontsize=10)
    rss.plot(minutes, [s.rss_mb for s in samples], color="tab:blue", label="RSS")
    rss.axvline(verdict.warmup_secs / 60, color="grey", linestyle=":", label="end of warm-up")
    rss.set_ylabel("RSS (MB)")
    rss.legend(loc="lower right", fontsize=8)
    warm = [s for s in samples if s.t >= verdict.warmup_secs]
    if len(warm) > 1 and not math.isnan(verdict.rss_slope_mb_per_hour):
        zoom.plot([s.t / 60 for s in warm], [s.rss_mb for s in warm], color="tab:blue")
        mean_t = sum(s.t for s in warm) / len(warm)
        mean_v = sum(s.rss_mb for s in warm) / len(warm)
        per_sec = verdict.rss_slope_mb_per_hour / 3600
        ends = (warm[0].t, warm[-1].t)
        zoom.plot(
            [t / 60 for t in ends],
            [mean_v + per_sec * (t - mean_t) for t in ends],
            color="tab:red",
            linestyle="--",
            label=f"least-squares fit: {verdict.rss_slope_mb_per_hour:+.1f} MB/hour "
            f"(limit {verdict.max_slope_mb_per_hour:g})",
        )
        zoom.legend(loc="lower right", fontsize=8)
    zoom.set_ylabel("RSS after warm-up (MB)")
    fds.plot(minutes, [s.fds for s in samples], color="tab:green", label="server open files")
    fds.plot(minutes, [s.sockets for s in samples], color="tab:olive", label="soak sockets")
    fds.set_ylabel("count")
    fds.legend(loc="lower right", fontsize=8)
    for name, colour in (
        ("frames_received", "tab:purple"),
        ("chat_sent", "tab:blue"),
        ("http_requests", "tab:orange"),
        ("errors", "tab:red"),
    ):
        traffic.plot(minutes, [getattr(s, name) for s in samples], color=colour, label=name)
    traffic.set_yscale("symlog")
    traffic.set_ylabel("cumulative")
    traffic.set_xlabel("minutes since the traffic started")
    traffic.legend(loc="upper left", fontsize=8)
    for axis in (rss, zoom, fds, traffic):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def read_csv(path: Path) -> list[Sample]:
    """The samples of a CSV written by `write_csv` (to draw an old run again)."""
    types = {f.name: f.type for f in fields(Sample)}
    with path.open(newline="") as rows:
        return [
            Sample(**{k: (float(v) if types[k] == "float" else int(v)) for k, v in row.items()})
            for row in csv.DictReader(rows)
        ]

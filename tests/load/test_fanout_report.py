"""The fan-out benchmark's arithmetic (load/fanout_report.py, load/fanout_viewers.py):
histogram percentiles, strict JSON, the verdict, and the send times shared between
processes through one mapped file."""

from __future__ import annotations

import json
import math
import select
import socket
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "load"))  # scripts, no package

from fanout_procs import default_procs
from fanout_report import (
    FanoutResult,
    as_json,
    histogram_percentile,
    merge_histograms,
)
from fanout_viewers import BUCKET_SECS, Shard, SharedMarks, ViewerConfig
from wsclient import Closed


def result(**changes: object) -> FanoutResult:
    base = FanoutResult(10, 10, 1, 2, False, False, [8000], 10.0, 5)
    base.messages_sent = base.accepted = 5
    base.viewers_open, base.expected, base.delivered = 10, 50, 50
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_histogram_percentile_is_nearest_rank_at_the_bucket_upper_edge() -> None:
    histogram = merge_histograms([[[100, 50], [300, 49]], [[100, 0], [900, 1]]])
    assert histogram == {100: 50, 300: 49, 900: 1}
    assert histogram_percentile(histogram, 50) == 101 * BUCKET_SECS
    assert histogram_percentile(histogram, 51) == 301 * BUCKET_SECS
    assert histogram_percentile(histogram, 99) == 301 * BUCKET_SECS
    assert histogram_percentile(histogram, 100) == 901 * BUCKET_SECS
    assert math.isnan(histogram_percentile(merge_histograms([]), 50))


def test_json_is_strict_with_null_for_what_was_not_measured() -> None:
    text = as_json(result())
    decoded = json.loads(text)
    assert decoded["p50_ms"] is None and decoded["ok"] is True
    assert "NaN" not in text


def test_loss_refusals_and_disconnects_fail_a_run_but_overload_only_fails_on_loss() -> None:
    assert result().ok
    assert not result(lost=1).ok
    assert not result(out_of_order=1).ok
    assert not result(timed_out=True).ok
    refused = {"accepted": 3, "refused": 2, "refusals": {"room_busy": 2}}
    cut = {"closes": {"4008": 3}, "viewers_open": 7, "expected": 35, "delivered": 40}
    assert not result(**refused).ok and not result(**cut).ok
    assert result(overload=True, **refused).ok and result(overload=True, **cut).ok
    assert not result(overload=True, lost=1).ok
    # A sender cut off (4008) was told; one still open that got no answer was not.
    told = {"accepted": 3, "unanswered": 2, "closes": {"sender 4008": 1}}
    assert result(overload=True, **told).ok and not result(**told).ok
    assert not result(overload=True, accepted=3, unanswered=2, unanswered_silent=2).ok
    assert not result(messages_sent=0).ok


def test_viewer_processes_default_to_one_per_500_viewers_and_the_cores() -> None:
    assert default_procs(1) == 1
    assert default_procs(500) == 1
    assert default_procs(501) == min(2, default_procs(100_000))


def test_shared_marks_show_one_process_writes_to_another(tmp_path: Path) -> None:
    writer = SharedMarks.create(tmp_path / "marks", 4)
    reader = SharedMarks.open(tmp_path / "marks", 4)
    try:
        writer.sent_at[2] = 123.5
        reader.seen[3] = 1
        assert reader.sent_at[2] == 123.5 and writer.seen[3] == 1
        assert reader.sent_at[0] == 0.0  # never sent: a viewer ignores its marker
    finally:
        writer.close()
        reader.close()


class ClosedSocket:
    """A viewer socket the server closed: every read says so (as a closed stream stays
    readable for epoll)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.reads = 0

    def fileno(self) -> int:
        return self.fd

    def read_now(self) -> tuple[list[tuple[int, bytes]], Closed]:
        self.reads += 1
        return [], Closed(4008, "too slow") if self.reads == 1 else Closed(1006)


def test_a_closed_viewer_leaves_the_epoll_and_is_counted_once(tmp_path: Path) -> None:
    marks = SharedMarks.create(tmp_path / "marks", 1)
    config = ViewerConfig("127.0.0.1", [0], "/ws/x", "0badcafe", 1, 1, str(tmp_path / "marks"))
    shard = Shard(config, marks)
    left, right = socket.socketpair()
    try:
        ws = ClosedSocket(left.fileno())
        closed = trio.Event()
        shard.reading[ws.fd] = (ws, 0, closed)  # type: ignore[assignment]
        shard.epoll.register(ws.fd, select.EPOLLIN)
        right.close()  # readable from now on, for good
        for fd, _ in shard.epoll.poll(0):
            shard._read(*shard.reading[fd])
        assert shard.epoll.poll(0) == []  # unregistered: never read again
        assert dict(shard.closes) == {"4008": 1} and closed.is_set()
    finally:
        shard.epoll.close()
        left.close()
        marks.close()

"""Smoke test of load/bench_fanout.py: real `--start-server` runs (keyword model), batched
and not, deliver every message to every viewer and print the documented JSON; the
memory mode measures RSS; the arguments are bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LOAD = Path(__file__).resolve().parents[2] / "load"
sys.path.insert(0, str(LOAD))  # load/ is a folder of scripts, not a package

import bench_fanout  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

FANOUT_KEYS = {
    "viewers", "viewers_ready", "procs", "senders", "batched", "overload", "ports", "rate",
    "messages", "messages_sent", "accepted", "refused", "unanswered", "unanswered_silent",
    "viewers_open",
    "expected", "delivered", "lost", "out_of_order", "connect_failures", "closes",
    "refusals", "send_lag_max_ms", "connect_secs", "duration_secs", "deliveries_per_sec",
    "p50_ms", "p95_ms", "p99_ms", "max_ms", "ack_p50_ms", "ack_p99_ms", "refusal_p50_ms",
    "refusal_max_ms", "timed_out", "measured_secs", "client_cpu_secs", "client_cpu_pct",
    "server_cpu_secs", "server_cpu_pct", "server_cpu_us_per_delivery", "loadavg_start",
    "loadavg_end", "node_viewers", "server_env", "profiles", "ok",
}  # fmt: skip


def bench(*args: str) -> tuple[int, dict[str, Any]]:
    """Run the script as `make bench` does; its exit status and its JSON."""
    env = {**os.environ, "PYTHONPATH": str(LOAD.parent)}
    done = subprocess.run(
        [sys.executable, str(LOAD / "bench_fanout.py"), "--start-server", "--json", *args],
        capture_output=True,
        env=env,
        timeout=50,
        check=False,
    )
    assert done.stdout, done.stderr.decode()[-3000:]
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("batched", [False, True], ids=["one-event-frames", "batched"])
def test_every_viewer_gets_every_message_from_every_sender(batched: bool) -> None:
    mode = ["--batched"] if batched else []
    status, result = bench(
        "--viewers", "20", "--senders", "2", "--rate", "20", "--send-secs", "2",
        "--seconds", "30", *mode,
    )  # fmt: skip
    assert set(result) == FANOUT_KEYS
    assert result["ok"] and status == 0
    assert result["batched"] is batched
    assert result["viewers_ready"] == result["viewers_open"] == 20
    assert result["messages_sent"] == result["accepted"] == 40
    assert result["delivered"] == result["expected"] == 800
    assert result["lost"] == result["out_of_order"] == result["unanswered"] == 0
    assert result["closes"] == result["refusals"] == result["connect_failures"] == {}
    assert result["deliveries_per_sec"] > 0
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["ack_p50_ms"] > 0 and result["refusal_p50_ms"] is None  # NaN -> null
    assert result["server_cpu_secs"] > 0 and result["client_cpu_secs"] >= 0
    assert result["server_env"]["MODERATION_MODEL"] == "keyword"
    assert sum(result["node_viewers"].values()) == 22  # the viewers and the two senders


def test_memory_mode_reports_kb_per_idle_connection() -> None:
    status, result = bench("--memory", "20", "--seconds", "30")
    assert status == 0 and result["ok"]
    assert result["ready"] == result["connections"] == 20
    assert result["rss_before_kb"] > 0 and result["rss_after_kb"] > 0
    assert result["kb_per_connection"] == pytest.approx(
        (result["rss_after_kb"] - result["rss_before_kb"]) / 20, abs=0.1
    )


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench_fanout.percentile(values, 50) == 50.0
    assert bench_fanout.percentile(values, 99) == 99.0
    assert bench_fanout.percentile(values, 100) == 100.0
    # Nearest rank picks a sample, never interpolates (which would give 25.0 here).
    assert bench_fanout.percentile([10.0, 20.0, 30.0, 40.0], 50) == 20.0
    assert bench_fanout.percentile([10.0, 20.0, 30.0, 40.0], 0) == 10.0


def test_arguments_are_bounded() -> None:
    parse = bench_fanout.parse_args
    for bad in (
        ["--start-server", "--seconds", "10000"],
        ["--viewers", "10"],  # neither --port nor --start-server
        ["--start-server", "--viewers", "100000"],
        ["--port", "8000", "--memory", "10"],  # memory needs the server's pid
        ["--start-server", "--pid", "1"],
        ["--port", "8000,x"],
        ["--start-server", "--server-env", "lower=1"],
        ["--start-server", "--messages", "5", "--send-secs", "2"],
    ):
        with pytest.raises(SystemExit):
            parse(bad)
    args = parse(["--port", "8001,8002", "--pid", "11,12", "--viewers", "5", "--rate", "20",
                  "--send-secs", "1.5"])  # fmt: skip
    assert args.port == [8001, 8002] and args.pid == [11, 12] and args.viewers == 5
    assert args.messages == 30
    assert parse(["--start-server"]).messages == 20  # as before --send-secs existed
    args = parse(["--start-server", "--server-env", "ROOM_MAILBOX_SIZE=64"])
    assert args.server_env == [("ROOM_MAILBOX_SIZE", "64")]

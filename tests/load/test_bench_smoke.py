"""Smoke test of load/bench_fanout.py: a real server, 5 viewers, 3 messages, none lost."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SCRIPT = Path(__file__).resolve().parents[2] / "load" / "bench_fanout.py"


def load_bench():  # load/ is a folder of scripts, not a package
    spec = importlib.util.spec_from_file_location("bench_fanout", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_fanout", module)
    spec.loader.exec_module(module)
    return module


bench = load_bench()


async def test_every_viewer_gets_every_message() -> None:
    async with bench.start_server() as server:
        result = await bench.run_fanout(
            server.port, viewers=5, messages=3, rate=20.0, seconds=15.0, server_pid=server.pid
        )
    assert not result.timed_out
    assert result.viewers_ready == 5
    assert result.messages_sent == 3
    assert result.closes == {}
    assert result.refusals == {}
    assert result.delivered == result.expected == 15
    assert result.missing == 0
    assert result.ok
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile(values, 100) == 100.0
    # Nearest rank picks a sample, never interpolates (which would give 25.0 here).
    assert bench.percentile([10.0, 20.0, 30.0, 40.0], 50) == 20.0
    assert bench.percentile([10.0, 20.0, 30.0, 40.0], 0) == 10.0


def test_percentile_of_no_samples_is_nan() -> None:
    assert math.isnan(bench.percentile([], 50))


def test_arguments_are_bounded() -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(["--start-server", "--seconds", "10000"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--viewers", "10"])  # neither --port nor --start-server
    args = bench.parse_args(["--port", "8000", "--viewers", "5"])
    assert args.port == 8000 and args.viewers == 5

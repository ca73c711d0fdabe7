"""Smoke test of load/soak.py: a short real run works end to end, and the verdict rules.

The run (12 s of traffic, keyword model, samples every 2 s; about 20 s in all) starts its
own server, sends
every kind of traffic, stops by itself and writes the CSV, PNG and JSON; the memory check
is skipped on a run that short, so it passes on a healthy server. The verdict is checked
on made-up samples: flat memory passes, a steady climb fails, as do a leaked file and an
error.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

LOAD = Path(__file__).resolve().parents[2] / "load"


def load_report() -> Any:  # load/ is a folder of scripts, not a package
    spec = importlib.util.spec_from_file_location("soak_report", LOAD / "soak_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("soak_report", module)
    spec.loader.exec_module(module)
    return module


report = load_report()
Sample, judge, slope_per_hour = report.Sample, report.judge, report.slope_per_hour


def test_a_short_soak_runs_every_kind_of_traffic_and_stops_by_itself(tmp_path: Path) -> None:
    started = time.monotonic()
    command = [sys.executable, str(LOAD / "soak.py"), "--minutes", "0.2", "--model", "keyword"]
    command += ["--sample-secs", "2", "--mod-interval", "1", "--gift-interval", "1"]
    command += ["--prime-lines", "60"]
    command += ["--out", str(tmp_path)]
    # Cheap password hashing: the run logs 11 accounts in, which should not be the test.
    env = {**os.environ, "BCRYPT_ROUNDS": "4"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=50, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert time.monotonic() - started < 40

    summary = json.loads((tmp_path / "soak.json").read_text())
    traffic = summary["traffic"]
    assert summary["errors"] == {} and summary["verdict"]["ok"]
    assert summary["verdict"]["memory_checked"] is False  # 12 s says nothing about an hour
    assert traffic["chat_sent"] > 60 and traffic["chat_acked"] > 60  # the warm-up's too
    assert traffic["ws_opens"] >= 10 and traffic["frames_received"] > traffic["chat_sent"]
    assert traffic["gifts"] > 0 and traffic["sse_events"] > 0
    assert {"mute", "kick"} <= set(summary["mod_actions"])
    with (tmp_path / "soak.csv").open() as rows:
        samples = list(csv.DictReader(rows))
    assert len(samples) >= 4
    assert all(float(row["rss_mb"]) > 0 and int(row["fds"]) > 0 for row in samples)
    assert (tmp_path / "soak.png").read_bytes().startswith(b"\x89PNG")


def test_arguments_are_bounded(tmp_path: Path) -> None:
    bad_options = (["--minutes", "0"], ["--minutes", "10000"], ["--chatters", "500"])
    for bad in (*bad_options, ["--prime-lines", "-1"], ["--mod-interval", "0"]):
        done = subprocess.run(
            [sys.executable, str(LOAD / "soak.py"), *bad, "--out", str(tmp_path)],
            capture_output=True,
            timeout=30,
        )
        assert done.returncode == 2, bad


def flat(rss: float = 500.0, minutes: float = 30, climb_mb_per_hour: float = 0.0) -> list[Any]:
    return [
        Sample(t=t, rss_mb=rss + climb_mb_per_hour * t / 3600, fds=30)
        for t in range(0, int(minutes * 60) + 1, 10)
    ]


def verdict_of(samples: list[Any], **overrides: object) -> Any:
    options: dict[str, object] = {
        "duration_secs": 1800.0,
        "fds_before": 20,
        "fds_after": 22,
        "max_slope_mb_per_hour": 10.0,
        "fd_allowance": 20,
        "errors": {},
        "min_minutes_for_memory": 5.0,
    }
    options.update(overrides)
    return judge(samples, **options)


def test_flat_memory_after_a_warm_up_climb_passes() -> None:
    samples = flat()
    # The first third (warm-up) may climb steeply: only the rest is judged.
    warm_up = [Sample(t=s.t, rss_mb=s.rss_mb - (600 - s.t) / 6, fds=30) for s in samples[:60]]
    verdict = verdict_of(warm_up + samples[60:])
    assert verdict.ok, verdict.problems
    assert abs(verdict.rss_slope_mb_per_hour) < 0.01


def test_memory_that_keeps_growing_after_the_warm_up_fails() -> None:
    verdict = verdict_of(flat(climb_mb_per_hour=12.0))
    assert not verdict.ok
    assert "RSS grows 12.0 MB/hour" in verdict.problems[0]
    assert verdict_of(flat(climb_mb_per_hour=9.0)).ok


def test_leaked_files_and_errors_fail_and_short_runs_skip_memory() -> None:
    assert not verdict_of(flat(), fds_after=41).ok
    assert verdict_of(flat(), fds_after=40).ok
    assert not verdict_of(flat(), errors={"http 500 gift": 1}).ok
    short = verdict_of(flat(minutes=1, climb_mb_per_hour=500.0), duration_secs=60.0)
    assert short.ok and not short.memory_checked


def test_slope_is_least_squares_per_hour() -> None:
    assert slope_per_hour([(0.0, 1.0), (3600.0, 3.0)]) == pytest.approx(2.0)
    assert slope_per_hour([(0.0, 1.0), (1800.0, 5.0), (3600.0, 3.0)]) == pytest.approx(2.0)
    assert slope_per_hour([(5.0, 1.0)]) != slope_per_hour([(5.0, 1.0)])  # NaN

"""`safestream policy replay|versions|rollback` against a real server (in a thread)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from serverkit import ThreadedServer, server_in_thread

from safestream.cli import main
from safestream.cli_policy import parse_since, progress_bar, replay_table
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.records import MessageRow

CANDIDATE = {"bands": [{"category": "toxicity", "min_score": 0.7, "action": "hold"}]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    """A server whose room `lab` holds three messages from the last minute."""
    with server_in_thread(tmp_path_factory.mktemp("cli")) as running:
        db = Database(running.settings.database_url, threads=1)
        now = time.time()
        rows = [
            MessageRow(id=f"lab{seq:029d}", room="lab", seq=seq, username=user, text=text,
                       ts=now - 60 + seq, toxic=False, score=tox, scores={"toxicity": tox})
            for seq, (user, text, tox) in enumerate(
                [("ann", "hello", 0.05), ("bob", "you idiot", 0.8), ("cat", "meh", 0.3)], start=1
            )
        ]  # fmt: skip
        db.run_sync(repo.insert_batch, rows, (), ())
        db.dispose()
        yield running


def run(lab: ThreadedServer, *args: str) -> int:
    return main([*args, "--url", lab.url, "--token", lab.admin_token])


def test_replay_prints_progress_and_a_table(
    lab: ThreadedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "strict.json"
    candidate.write_text(json.dumps(CANDIDATE))
    assert run(lab, "policy", "replay", "lab", "--policy", str(candidate), "--since", "1h") == 0
    captured = capsys.readouterr()
    assert "[" + "#" * 30 + "]      3/3 messages" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("Room lab: candidate unsaved (policy v2)") and "complete" in lines[0]
    assert "allow            3       2      -1" in lines
    assert "hold             0       1      +1" in lines
    assert "block            0       0       0" in lines
    assert "1 messages change (first 1):" in lines
    assert any("bob" in line and "allow → hold" in line and "you idiot" in line for line in lines)
    assert "toxicity 0.80 ≥ hold 0.70, policy v2" in captured.out


def test_replay_as_json_of_a_stored_version(
    lab: ThreadedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(lab, "policy", "replay", "lab", "--version", "1", "--last", "2", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["candidate"], result["scanned"], result["changed"]) == ("v1", 2, 0)


def test_replay_errors_name_the_problem(
    lab: ThreadedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"thresholds": {"toxicity": 3}}))
    assert run(lab, "policy", "replay", "lab", "--policy", str(bad), "--last", "5") == 1
    assert "422 policy: threshold for 'toxicity' must be between 0 and 1" in capsys.readouterr().err
    assert run(lab, "policy", "replay", "nowhere", "--version", "1", "--last", "5") == 1
    assert "404 no room 'nowhere'" in capsys.readouterr().err
    assert run(lab, "policy", "replay", "lab", "--version", "1", "--since", "soon") == 2
    (tmp_path / "broken.json").write_text("{")
    assert run(lab, "policy", "replay", "lab", "--policy", str(tmp_path / "broken.json"),
               "--last", "1") == 2  # fmt: skip
    assert "not JSON" in capsys.readouterr().err


def test_versions_and_rollback(lab: ThreadedServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(lab, "policy", "rollback", "lab", "1") == 1  # v1 is already in force
    assert "409" in capsys.readouterr().err
    assert run(lab, "policy", "versions", "lab") == 0
    assert capsys.readouterr().out.split()[:3] == ["*", "v1", "default"]


def test_since_is_a_duration_or_a_time_with_a_zone() -> None:
    assert parse_since("90s") == {"since_secs": 90.0}
    assert parse_since("1.5h") == {"since_secs": 5400.0}
    assert parse_since("2D") == {"since_secs": 172800.0}
    assert parse_since("2026-12-01T10:00:00Z") == {"since": "2026-12-01T10:00:00+00:00"}
    for bad in ("yesterday", "2026-12-01T10:00:00", "5w"):
        with pytest.raises(ValueError):
            parse_since(bad)
    with pytest.raises(ValueError, match="future"):
        parse_since("2999-01-01T00:00:00Z", datetime.now(UTC))


def test_progress_bar_and_table_edges() -> None:
    assert progress_bar(0, 0) == "[" + "#" * 30 + "]      0/0 messages"
    assert progress_bar(1, 4, width=4) == "[#...]      1/4 messages"
    empty = {
        "room": "main", "candidate": "v2", "policy": {"version": 2}, "scanned": 0, "changed": 0,
        "complete": False, "window": {"last": 5, "messages": 0, "truncated": False},
        "before": {}, "after": {}, "changes": [], "newly_timed_out": [],
    }  # fmt: skip
    text = replay_table(empty)
    assert "PARTIAL" in text and "0 messages change." in text and "nobody new" in text

"""`safestream tree` against a real running server."""

from __future__ import annotations

import subprocess
import sys

from conftest import AppProcess


def test_tree_prints_the_live_supervision_tree(app_server: AppProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "safestream.cli", "tree"],
        env={**app_server.env(), "SAFESTREAM_URL": app_server.url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in ("store", "moderation", "worker-0", "rooms", "gifts", "feed", "connections"):
        assert name in result.stdout


def test_tree_json_needs_a_moderator(app_server: AppProcess) -> None:
    token = app_server.token("demo_user")
    result = subprocess.run(
        [sys.executable, "-m", "safestream.cli", "tree", "--json", "--token", token],
        env={**app_server.env(), "SAFESTREAM_URL": app_server.url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "403" in result.stderr

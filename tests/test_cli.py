"""The `safestream` command's user administration (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from safestream.chat_client import events_of, format_frame
from safestream.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFESTREAM_MODE", "demo")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("SAFESTREAM_PASSWORD", "correct horse")
    return tmp_path


def test_user_create_promote_list(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "create", "ann", "--email", "ann@example.org"]) == 0
    assert main(["user", "create", "ann"]) == 1
    assert main(["user", "promote", "ann", "moderator"]) == 0
    assert main(["user", "promote", "nobody", "admin"]) == 1
    assert main(["user", "list"]) == 0
    out = capsys.readouterr().out
    assert "created ann (viewer)" in out
    assert "ann is now moderator" in out
    listing = [line.split() for line in out.splitlines() if line.startswith("ann ") and "@" in line]
    assert listing == [["ann", "moderator", "ann@example.org"]]


def test_user_create_refuses_bad_input(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["user", "create", "bad name"]) == 2
    monkeypatch.setenv("SAFESTREAM_PASSWORD", "short")
    assert main(["user", "create", "bob"]) == 2


def test_production_without_secret_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAFESTREAM_MODE", "production")
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    assert main(["serve"]) == 2
    assert "JWT_SECRET_KEY" in capsys.readouterr().err


def test_db_upgrade(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "database at head" in capsys.readouterr().out


def test_chat_client_formats_frames() -> None:
    chat = {"type": "chat", "seq": 3, "user": "ann", "message": "hi", "toxic": True, "score": 0.9}
    assert format_frame(chat) == "#3 ann: hi [toxic 0.90]"
    assert format_frame({"type": "error", "code": "muted", "detail": "wait"}) == "!! muted: wait"


def test_chat_client_reads_batched_and_single_event_frames() -> None:
    assert events_of('[{"type":"pong"},{"type":"gift","amount":1}]') == [
        {"type": "pong"},
        {"type": "gift", "amount": 1},
    ]
    assert events_of('{"type":"pong"}') == [{"type": "pong"}]


def test_model_rollback_offline_moves_model_dir_back_one_version(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from safestream.moderation.versions import BUNDLED, ModelVersions

    assert main(["model", "rollback", "--offline"]) == 1  # only the bundled model so far
    versions = ModelVersions(env / "models")
    candidate = env / "candidate.npz"
    candidate.write_bytes(b"x")
    versions.add(candidate)
    assert main(["model", "rollback", "--offline"]) == 0
    assert versions.current() == BUNDLED
    assert main(["model", "status", "--offline"]) == 0
    assert '"current": "bundled"' in capsys.readouterr().out

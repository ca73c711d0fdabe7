"""Versions of the chat model on disk: which one is live, and the way back.

A retrain writes a candidate file; when it is kept, :meth:`ModelVersions.add` copies it
into ``MODEL_DIR`` as ``chat-<timestamp>.npz`` and makes it live. ``state.json`` holds
the live version and the history of versions made live, newest last, so
:meth:`ModelVersions.rollback` returns to the one before. ``bundled`` is the model shipped
in the package (never copied). Writes go to a temporary file and are renamed into place.

Example:
    versions = ModelVersions(Path("data/models"))
    path = versions.current_path()          # the bundled model until a retrain is kept
    name = versions.add(candidate)          # live now
    versions.rollback()                     # the previous one is live again
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

from safestream.moderation.classifiers.chat_model import DEFAULT_MODEL

__all__ = ["BUNDLED", "ModelVersions", "NoPreviousVersion"]

BUNDLED = "bundled"
MAX_KEPT = 20
"""Version files kept on disk; older ones that are not in the history are deleted."""


class NoPreviousVersion(LookupError):
    """Rollback asked for with only one version in the history."""


class ModelVersions:
    """The model versions under ``root`` (created on first write)."""

    def __init__(self, root: Path, bundled: Path = DEFAULT_MODEL) -> None:
        self.root = root
        self.bundled = bundled

    @property
    def _state_file(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        """``{"current": name, "history": [names, newest last]}``."""
        try:
            state: dict[str, Any] = json.loads(self._state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"current": BUNDLED, "history": [BUNDLED]}
        return state

    def path(self, name: str) -> Path:
        """The file of version ``name``."""
        if name == BUNDLED:
            return self.bundled
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad version name {name!r}")
        return self.root / f"{name}.npz"

    def current(self) -> str:
        return str(self.state()["current"])

    def current_path(self) -> Path:
        """The live model's file; the bundled one if the recorded file has gone."""
        path = self.path(self.current())
        return path if path.is_file() else self.bundled

    def previous(self) -> str | None:
        """The version a rollback would make live."""
        history = list(self.state()["history"])
        return str(history[-2]) if len(history) >= 2 else None

    def add(self, candidate: Path) -> str:
        """Copy ``candidate`` in as a new version and make it live; returns its name."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = "chat-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        tmp = self.root / f".{name}.tmp"
        shutil.copyfile(candidate, tmp)
        os.replace(tmp, self.path(name))
        state = self.state()
        self._write({"current": name, "history": [*state["history"], name][-MAX_KEPT:]})
        self._prune()
        return name

    def rollback(self) -> str:
        """Make the previous version live again; returns its name.

        Raises:
            NoPreviousVersion: the live version is the only one in the history.
        """
        history = list(self.state()["history"])
        if len(history) < 2:
            raise NoPreviousVersion("no earlier model version to roll back to")
        history.pop()
        self._write({"current": history[-1], "history": history})
        return str(history[-1])

    def _write(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / ".state.json.tmp"
        tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self._state_file)

    def _prune(self) -> None:
        keep = set(self.state()["history"])
        files = sorted(self.root.glob("chat-*.npz"))
        for old in files[: max(0, len(files) - MAX_KEPT)]:
            if old.stem not in keep:
                old.unlink(missing_ok=True)

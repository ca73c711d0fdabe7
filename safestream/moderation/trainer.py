"""ModelTrainer: the actor that retrains, swaps and rolls back the live chat model.

Reached by message only (routes, CLI through the HTTP API, dashboard):

* ``StartRetrain(actor)``: start a retrain in the background unless one is running;
  answers the status. The job reads the moderators' labels, runs
  :func:`~safestream.moderation.retrain.retrain` in a worker thread (under its own
  ``CapacityLimiter`` of 1), and when the candidate is not worse on the held-out sets,
  loads it, adds it to the :class:`~safestream.moderation.versions.ModelVersions` and
  asks the moderation pool to swap (:func:`~safestream.moderation.swap.swap_model`).
* ``Rollback(actor)``: load the previous version, make it live, swap.
* ``TrainerStatus()``: the status dict (state, live and previous version, last outcome).

A model is loaded *before* anything changes: if it fails to load, the versions file and
the pool are left as they were and the old model keeps serving; the status says why.
The job's task lives in this actor's nursery, so stopping the actor cancels a running
retrain (the worker thread finishes its step and its result is dropped).

Example:
    status = await ctx.address("trainer").ask(StartRetrain("alice"), timeout=5)
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from actors import Actor, Address
from safestream.moderation.classifiers import Classifier
from safestream.moderation.retrain import RetrainOutcome, retrain
from safestream.moderation.swap import swap_model
from safestream.moderation.versions import ModelVersions, NoPreviousVersion
from safestream.store.records import LabelRecord

__all__ = ["ModelTrainer", "Rollback", "StartRetrain", "TrainerStatus"]

Offload = Callable[..., Awaitable[Any]]
LoadModel = Callable[[Path], Classifier]
ReadLabels = Callable[[], Awaitable[Sequence[LabelRecord]]]
Retrain = Callable[..., RetrainOutcome]
SWAP_TIMEOUT_SECS = 120.0


@dataclass(frozen=True)
class StartRetrain:
    """Ask: start a retrain requested by ``actor``; answers the status dict."""

    actor: str

    def __post_init__(self) -> None:
        if not self.actor:
            raise ValueError("StartRetrain needs the requesting user")


@dataclass(frozen=True)
class Rollback:
    """Ask: make the previous model version live again; answers the status dict.

    Raises (in the asker): ``NoPreviousVersion`` or the load error."""

    actor: str


@dataclass(frozen=True)
class TrainerStatus:
    """Ask: the status dict."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ModelTrainer(Actor):
    """Owns retrain jobs and the live model's version; see the module docstring.

    Args:
        versions: the model versions on disk.
        load: builds the live classifier from a chat-model file (blocking).
        read_labels: the moderators' labels to train on.
        pool: the moderation pool's address.
        shared_csv: the shared data, when configured.
        work_dir: where candidates are written.
        offload: how blocking loads leave the event loop.
        retrain_offload: how the (minutes long) retrain leaves it; by default a worker
            thread that a stop abandons, so an orderly shutdown does not wait for it.
        retrain_fn: the blocking retrain (tests pass a small one).
    """

    kind = "model_trainer"

    def __init__(
        self,
        versions: ModelVersions,
        load: LoadModel,
        read_labels: ReadLabels,
        pool: Address,
        *,
        shared_csv: Path | None,
        work_dir: Path,
        offload: Offload = trio.to_thread.run_sync,
        retrain_offload: Offload | None = None,
        retrain_fn: Retrain = retrain,
    ) -> None:
        self._versions = versions
        self._load = load
        self._read_labels = read_labels
        self._pool = pool
        self._shared_csv = shared_csv
        self._work_dir = work_dir
        self._offload = offload
        self._retrain_offload = retrain_offload or functools.partial(
            trio.to_thread.run_sync, abandon_on_cancel=True
        )
        self._retrain = retrain_fn
        self._limiter = trio.CapacityLimiter(1)
        self._nursery: trio.Nursery | None = None
        self._state = "idle"
        self._detail: dict[str, Any] = {}
        self._log: list[str] = []

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            while (envelope := await self.receive()) is not None:
                await self.dispatch(envelope)
            nursery.cancel_scope.cancel()

    async def handle(self, message: Any) -> Any:
        match message:
            case StartRetrain(actor):
                if self._state != "running":
                    assert self._nursery is not None
                    self._state, self._log = "running", []
                    self._detail = {"requested_by": actor, "started_at": _now()}
                    self._nursery.start_soon(self._job)
                return self.status()
            case Rollback(actor):
                if self._state == "running":
                    raise RuntimeError("a retrain is running; roll back after it ends")
                previous = self._versions.previous()
                if previous is None:
                    raise NoPreviousVersion("no earlier model version to roll back to")
                clf = await self._offload(self._load, self._versions.path(previous))
                name = self._versions.rollback()
                await swap_model(self._pool, clf, name, timeout=SWAP_TIMEOUT_SECS)
                self._state = "rolled_back"
                self._detail = {"requested_by": actor, "finished_at": _now(), "version": name}
                return self.status()
            case TrainerStatus():
                return self.status()
        return await super().handle(message)

    def status(self) -> dict[str, Any]:
        """State (idle, running, kept, rejected, failed, rolled_back) and versions."""
        return {
            "state": self._state,
            "live_version": self._versions.current(),
            "previous_version": self._versions.previous(),
            **self._detail,
            "log": list(self._log[-20:]),
        }

    def introspect(self) -> dict[str, Any]:
        return {"state": self._state, "live_version": self._versions.current()}

    def _note(self, line: str) -> None:
        # Called from the worker thread too: appending to a list is atomic in CPython,
        # and the log is only read for the status.
        self._log.append(line)

    async def _job(self) -> None:
        try:
            labels = await self._read_labels()
            outcome: RetrainOutcome = await self._retrain_offload(
                lambda: self._retrain(
                    self._versions.current_path(),
                    labels,
                    shared_csv=self._shared_csv,
                    work_dir=self._work_dir,
                    log=self._note,
                ),
                limiter=self._limiter,
            )
            self._detail |= outcome.as_dict()
            if not outcome.kept:
                self._state = "rejected"
                return
            try:
                clf = await self._offload(self._load, outcome.candidate)
            except Exception as exc:
                # The new model cannot serve: keep the old one, say why.
                self._state = "failed"
                self._detail["error"] = f"new model failed to load: {exc}"
                return
            name = self._versions.add(outcome.candidate)
            await swap_model(self._pool, clf, name, timeout=SWAP_TIMEOUT_SECS)
            self._state = "kept"
            self._detail["version"] = name
        except Exception as exc:
            # A failed retrain is a status for the admin, not a reason to crash the node.
            self._state = "failed"
            self._detail["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        finally:
            self._detail["finished_at"] = _now()

"""The live model is swapped by message, without a restart; a model that fails to load
never replaces the one serving; rollback is one message away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from appkit import run_inline

from actors import ActorSystem, ChildSpec, Crash, Registry, Supervisor
from safestream.metrics import Metrics
from safestream.moderation.classifiers import CATEGORIES, ModelUnavailable, Scores
from safestream.moderation.pool import ModerationClient, ModerationPool, worker_names
from safestream.moderation.retrain import RetrainOutcome
from safestream.moderation.swap import swap_model
from safestream.moderation.trainer import ModelTrainer, Rollback, StartRetrain, TrainerStatus
from safestream.moderation.versions import BUNDLED, ModelVersions


class Fixed:
    """Scores every text `score` on every category."""

    def __init__(self, name: str, score: float) -> None:
        self.name, self.score = name, score

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        return [Scores({c: self.score for c in CATEGORIES}, model=self.name) for _ in texts]


@asynccontextmanager
async def open_pool(
    tmp_path: Path, load: Any, outcome: RetrainOutcome | Exception | None = None
) -> AsyncIterator[tuple[ActorSystem, ModerationClient, Metrics, ModelVersions]]:
    metrics = Metrics()
    registry = Registry()
    versions = ModelVersions(tmp_path / "models", bundled=tmp_path / "bundled.npz")

    def retrain_fn(*args: Any, **kwargs: Any) -> RetrainOutcome:
        if isinstance(outcome, Exception):
            raise outcome
        assert outcome is not None
        return outcome

    async def no_labels() -> list[Any]:
        return []

    def pool() -> ModerationPool:
        return ModerationPool(
            Fixed("old", 0.0), metrics, workers=2, batch_size=8, batch_wait_secs=0.0,
            queue_size=16, offload=run_inline,
        )  # fmt: skip

    def trainer() -> ModelTrainer:
        return ModelTrainer(
            versions, load, no_labels, registry.address("moderation"),
            shared_csv=None, work_dir=tmp_path / "work", offload=run_inline,
            retrain_offload=run_inline, retrain_fn=retrain_fn,
        )  # fmt: skip

    root = Supervisor(
        [
            ChildSpec(name="moderation", factory=pool, register="moderation"),
            ChildSpec(name="trainer", factory=trainer, register="trainer"),
        ]
    )
    async with ActorSystem.open(root, name="t", registry=registry) as system:
        client = ModerationClient([system.address(n) for n in worker_names(2)], timeout=5.0)
        yield system, client, metrics, versions


async def _models(client: ModerationClient) -> set[str]:
    seen = set()
    for _ in range(4):  # both workers answer some of these
        [s] = await client.score(["hello"])
        assert s is not None
        seen.add(s.model)
    return seen


async def _until_done(system: ActorSystem) -> dict[str, Any]:
    for _ in range(200):
        status: dict[str, Any] = await system.address("trainer").ask(TrainerStatus(), timeout=5)
        if status["state"] != "running":
            return status
        await trio.sleep(0.05)
    raise AssertionError("the retrain never ended")


async def test_swap_reaches_every_worker_and_survives_a_worker_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_pool(tmp_path, load=None) as (system, client, metrics, _):
        assert await _models(client) == {"old"}
        answer = await swap_model(system.address("moderation"), Fixed("new", 0.9), "v2", timeout=5)
        assert (answer.model, answer.version, answer.workers) == ("new", "v2", 2)
        assert await _models(client) == {"new"}
        system.lookup(worker_names(2)[0]).tell_nowait(Crash("test"))  # type: ignore[union-attr]
        await trio.sleep(1.0)
        assert await _models(client) == {"new"}  # the restarted worker got the new model
        assert metrics.model_swaps == 1
        assert metrics.document(viewers=0, rooms=0, model="old")["moderation"]["model"] == "new"


async def test_a_kept_retrain_is_loaded_recorded_and_swapped_in(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    candidate = tmp_path / "work" / "candidate.npz"
    candidate.parent.mkdir()
    candidate.write_bytes(b"weights")
    outcome = RetrainOutcome(True, "not worse", candidate, 3, {"chat_f1": 0.8}, {"chat_f1": 0.9})
    loaded: list[Path] = []

    def load(path: Path) -> Fixed:
        loaded.append(path)
        return Fixed(f"model@{path.name}", 0.5)

    async with open_pool(tmp_path, load, outcome) as (system, client, _, versions):
        started = await system.address("trainer").ask(StartRetrain("admin"), timeout=5)
        assert started["state"] == "running" and started["requested_by"] == "admin"
        status = await _until_done(system)
        assert status["state"] == "kept" and status["after"] == {"chat_f1": 0.9}
        live = versions.current()
        assert live != BUNDLED and status["live_version"] == live
        assert await _models(client) == {"model@candidate.npz"}

        back = await system.address("trainer").ask(Rollback("admin"), timeout=5)
        assert back["live_version"] == BUNDLED == versions.current()
        assert await _models(client) == {"model@bundled.npz"}


async def test_a_new_model_that_fails_to_load_leaves_the_old_one_serving(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    candidate = tmp_path / "candidate.npz"
    candidate.write_bytes(b"not a model")

    def load(path: Path) -> Fixed:
        raise ModelUnavailable(f"cannot read chat model {path}")

    outcome = RetrainOutcome(True, "not worse", candidate, 0)
    async with open_pool(tmp_path, load, outcome) as (system, client, metrics, versions):
        await system.address("trainer").ask(StartRetrain("admin"), timeout=5)
        status = await _until_done(system)
        assert status["state"] == "failed"
        assert "failed to load" in status["error"]
        assert versions.current() == BUNDLED and versions.previous() is None
        assert await _models(client) == {"old"}
        assert metrics.model_swaps == 0


async def test_a_worse_candidate_is_rejected_and_nothing_changes(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    outcome = RetrainOutcome(False, "worse on held-out data: chat_f1", tmp_path / "c.npz", 1)
    async with open_pool(tmp_path, load=None, outcome=outcome) as (system, client, _, versions):
        await system.address("trainer").ask(StartRetrain("admin"), timeout=5)
        status = await _until_done(system)
        assert status["state"] == "rejected" and "worse" in status["reason"]
        assert versions.current() == BUNDLED
        assert await _models(client) == {"old"}


async def test_a_retrain_that_raises_is_a_failed_status_and_the_trainer_stays_up(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_pool(tmp_path, None, RuntimeError("disk full")) as (system, client, _, _v):
        await system.address("trainer").ask(StartRetrain("admin"), timeout=5)
        status = await _until_done(system)
        assert status["state"] == "failed" and "disk full" in status["error"]
        assert await _models(client) == {"old"}

"""Retraining from moderators' labels on a tiny dataset, the "not worse" rule, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from safestream.moderation.classifiers.chat_model import (
    ChatModelClassifier,
    load_model,
    save_model,
    trained_tensors,
)
from safestream.moderation.retrain import not_worse, retrain
from safestream.moderation.training import finetune
from safestream.moderation.training.rows import chat_rows, moderator_rows
from safestream.moderation.versions import BUNDLED, ModelVersions, NoPreviousVersion
from safestream.store.records import LabelRecord

NOW = datetime.now(UTC)
TINY_SHARED = "comment_text,labels\n" + "".join(
    f"{text},{label}\n"
    for text, label in [("you are a stupid idiot", 1), ("thanks for the edit", 0)] * 10
)


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer chat model trained for a few steps on a few chat lines."""
    from safestream.moderation.training import examples

    rows = chat_rows(examples.train_examples()[::20])
    net = finetune.train_network(
        rows, layers=1, epochs=1, negatives=0, chat_repeat=1, max_length=16, log=print
    )
    path = tmp_path_factory.mktemp("base") / "base.npz"
    save_model(path, trained_tensors(net), {"layers": 1, "max_length": 16})
    return path


def test_moderator_labels_mark_what_they_know() -> None:
    rows = moderator_rows(
        [("gg ez", False, frozenset()), ("i'll find you", True, frozenset({"threat"}))]
    )
    assert rows.masks[0].tolist() == [1.0] * 6  # "not toxic": every category known (0)
    assert rows.labels[0].sum() == 0
    assert rows.masks[1].tolist() == [1, 0, 0, 1, 0, 0]  # toxicity and threat known
    assert rows.labels[1].tolist() == [1, 0, 0, 1, 0, 0]


def test_retrain_on_tiny_data_writes_a_loadable_candidate_and_judges_it(
    base_model: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared.csv"
    shared.write_text(TINY_SHARED, encoding="utf-8")
    labels = [
        LabelRecord(id=i, text=text, toxic=toxic, source="mark", actor="mod", created_at=NOW)
        for i, (text, toxic) in enumerate([("that trap murdered me", False), ("ur done irl", True)])
    ]
    lines: list[str] = []
    outcome = retrain(base_model, labels, shared_csv=shared, work_dir=tmp_path, log=lines.append)
    assert outcome.candidate.is_file() and outcome.labels == 2
    assert {"chat_roc_auc", "chat_f1", "shared_roc_auc"} <= set(outcome.before)
    assert set(outcome.before) == set(outcome.after)
    assert outcome.kept == not_worse(outcome.before, outcome.after)[0]
    _, meta = load_model(outcome.candidate)
    assert meta["refit_rows"]["moderator"] == 2 and "thresholds" in meta
    [scores] = ChatModelClassifier(outcome.candidate).predict(["hello"])
    assert 0.0 <= scores.values["toxicity"] <= 1.0
    assert any("moderator labels" in line for line in lines)


def test_not_worse_allows_noise_and_refuses_a_real_drop() -> None:
    before = {"chat_roc_auc": 0.95, "chat_f1": 0.85, "shared_roc_auc": 0.97}
    assert not_worse(before, {**before, "chat_f1": 0.845})[0]
    ok, reason = not_worse(before, {**before, "shared_roc_auc": 0.96})
    assert not ok and "shared_roc_auc" in reason


def test_versions_add_rollback_and_refuse_rollback_past_the_first(tmp_path: Path) -> None:
    bundled = tmp_path / "bundled.npz"
    bundled.write_bytes(b"b")
    versions = ModelVersions(tmp_path / "models", bundled=bundled)
    assert versions.current() == BUNDLED and versions.current_path() == bundled
    with pytest.raises(NoPreviousVersion):
        versions.rollback()
    candidate = tmp_path / "c.npz"
    candidate.write_bytes(b"c1")
    first = versions.add(candidate)
    candidate.write_bytes(b"c2")
    second = versions.add(candidate)
    assert versions.current() == second and versions.previous() == first
    assert versions.current_path().read_bytes() == b"c2"
    assert versions.rollback() == first
    assert versions.current_path().read_bytes() == b"c1"
    assert versions.rollback() == BUNDLED
    with pytest.raises(ValueError):
        versions.path("../etc")

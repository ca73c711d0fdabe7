"""The shipped MiniLM heads and the training data they came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from safestream.moderation.classifiers import CATEGORIES, ModelUnavailable
from safestream.moderation.classifiers.minilm import DEFAULT_HEADS, Heads
from safestream.moderation.training import examples
from safestream.moderation.training.metrics import binary_metrics


def test_held_out_chat_lines_are_never_trained_on() -> None:
    trained = {text.lower().strip() for text, _ in examples.train_examples()}
    held = [text.lower().strip() for text, _ in examples.HELD_OUT]
    assert not trained & set(held)
    assert len(set(held)) == len(held)


def test_every_category_has_training_positives_and_labels_are_known() -> None:
    seen = {c for _, cats in examples.train_examples() for c in cats}
    assert seen == set(CATEGORIES)
    assert all(("toxicity" in cats) == bool(cats) for _, cats in examples.HELD_OUT)


def test_shipped_heads_are_small_and_cover_every_category() -> None:
    assert DEFAULT_HEADS.stat().st_size < 100_000
    heads = Heads.load(DEFAULT_HEADS)
    assert heads.weights.shape == (len(CATEGORIES), 384)
    assert "held_out_toxicity" in heads.meta and "attribution" in heads.meta


def test_heads_round_trip_through_json(tmp_path: Path) -> None:
    heads = Heads.load(DEFAULT_HEADS)
    heads.save(tmp_path / "h.json")
    again = Heads.load(tmp_path / "h.json")
    assert again.weights == pytest.approx(heads.weights, rel=1e-5)


def test_missing_heads_file_is_model_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="train them"):
        Heads.load(tmp_path / "absent.json")


def test_binary_metrics_at_threshold() -> None:
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.7, 0.65, 0.9], threshold=0.6)
    assert (m.precision, m.recall, m.roc_auc) == (pytest.approx(2 / 3), 1.0, 0.75)

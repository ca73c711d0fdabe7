"""The fine-tuned chat model's file, the combiner and calibration, the combined model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from safestream.moderation.classifiers import CATEGORIES, ModelUnavailable, Scores
from safestream.moderation.classifiers.chat_model import (
    DEFAULT_MODEL,
    dequantise,
    load_model,
    quantise,
    save_model,
)
from safestream.moderation.classifiers.combined import CombinedClassifier, calibrate, combine
from safestream.moderation.classifiers.keyword import KeywordClassifier


def test_int8_rows_round_trip_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 16)).astype(np.float32)
    b = rng.normal(size=8).astype(np.float32)
    back = dequantise(quantise({"w": w, "b": b}))
    step = np.abs(w).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(back["w"] - w) <= step / 2 + 1e-7)
    assert np.array_equal(back["b"], b)


def test_model_file_round_trips_meta_and_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    save_model(path, {"head.bias": np.zeros(6, np.float32)}, {"layers": 1, "thresholds": {}})
    tensors, meta = load_model(path)
    assert meta["layers"] == 1 and list(tensors) == ["head.bias"]
    with pytest.raises(ModelUnavailable, match="train it"):
        load_model(tmp_path / "absent.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ModelUnavailable, match="metadata"):
        load_model(tmp_path / "other.npz")


def test_calibration_maps_the_threshold_onto_the_policy_threshold_monotonically() -> None:
    p = np.linspace(0, 1, 101)
    q = calibrate(p, 0.3)
    assert calibrate([0.3], 0.3)[0] == pytest.approx(0.6)
    assert np.all(np.diff(q) >= 0)
    assert q[0] == 0.0 and q[-1] == pytest.approx(1.0)


def test_the_combiner_lets_the_chat_model_outvote_profanity_check() -> None:
    raw = np.full((1, len(CATEGORIES)), 0.02, dtype=np.float32)
    params = {"combiner": {"toxicity": {"coef": [1.0, 0.3, 1.0], "intercept": 0.0}}}
    [row] = combine(raw, [0.97], params)  # profanity-check is sure, the chat model is not
    assert row[CATEGORIES.index("toxicity")] < 0.5


class FakeFast:
    name = "fast"

    def __init__(self, p: float) -> None:
        self.p = p

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        return [Scores({c: self.p for c in CATEGORIES}, triggers=("idiot",)) for _ in texts]


class FakeChat:
    name = "chat"
    meta: dict[str, Any] = {}

    def __init__(self, tox: Sequence[float]) -> None:
        self.tox = list(tox)

    def raw(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(CATEGORIES)), dtype=np.float32)
        out[:, 0] = self.tox[: len(texts)]
        return out


class CountingDetox(KeywordClassifier):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.name = "detox"

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        self.seen += texts
        return [Scores({c: 0.99 for c in CATEGORIES}, model="detox") for _ in texts]


def test_only_the_uncertain_band_goes_to_detoxify_and_is_marked_escalated() -> None:
    detox = CountingDetox()
    clf = CombinedClassifier(FakeFast(0.0), FakeChat([0.1, 0.5, 0.95]), detox, band=(0.3, 0.9))
    low, unsure, sure = clf.predict(["a", "b", "c"])
    assert detox.seen == ["b"]
    assert unsure.escalated and unsure.values["threat"] == 0.99
    assert unsure.model == "combined(fast,chat,detox)"
    assert not low.escalated and not sure.escalated
    assert low.triggers == ()  # profanity's words are only kept for flagged messages


def test_shipped_chat_model_is_small_and_says_how_it_was_made() -> None:
    assert DEFAULT_MODEL.stat().st_size < 8_000_000
    _, meta = load_model(DEFAULT_MODEL)
    assert set(meta["thresholds"]) == set(CATEGORIES)
    assert {"toxicity", "obscene"} <= set(meta["combiner"])
    assert meta["command"].startswith("python -m safestream.moderation.training.finetune")
    assert "seeds" in meta and "attribution" in meta


def test_torch_models_turn_off_onednn_without_changing_scores() -> None:
    # oneDNN caches a kernel per input shape, and chat batches have many (see configure_torch)
    import torch

    from safestream.moderation.classifiers.chat_model import ChatModelClassifier

    torch.backends.mkldnn.enabled = True
    model = ChatModelClassifier(torch_threads=1)
    assert not torch.backends.mkldnn.enabled
    texts = ["watch your back", "gg well played everyone", "you are an idiot " * 10]
    native = model.raw(texts)
    torch.backends.mkldnn.enabled = True
    try:
        onednn = model.raw(texts)
    finally:
        torch.backends.mkldnn.enabled = False
    np.testing.assert_allclose(native, onednn, atol=1e-5)

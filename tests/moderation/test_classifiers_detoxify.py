"""DetoxifyClassifier on a tiny Detoxify-format checkpoint generated here (real load path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safestream.moderation.classifiers import CATEGORIES, ModelUnavailable, load_classifier

WORDS = ["hello", "everyone", "you", "are", "an", "idiot", "gg", "nice", "shot", "i", "will",
         "find", "and", "beat", "up", "what", "game", "is", "this", "?", "!"]  # fmt: skip
CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def _checkpoint(root: Path, *, model_type: str | None = None) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    hf_dir = root / "tiny-bert"
    hf_dir.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(hf_dir / "vocab.txt"), model_max_length=32)
    tokenizer.save_pretrained(str(hf_dir))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, num_labels=len(CLASSES),
    )  # fmt: skip
    config.save_pretrained(str(hf_dir))
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    ckpt = {
        "config": {
            "arch": {
                "args": {
                    "model_type": model_type or str(hf_dir),
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(CLASSES),
                }
            },
            "dataset": {"args": {"classes": CLASSES}},
        },
        "state_dict": model.state_dict(),
    }
    path = root / "tiny.ckpt"
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("detoxify"))


@pytest.fixture(scope="session")
def detox(tiny_ckpt: Path) -> Any:
    return load_classifier(f"detoxify-checkpoint:{tiny_ckpt}", torch_threads=1)


TEXTS = ["hello everyone", "you are an idiot", "gg nice shot!", "i will find you and beat you up"]


def test_detoxify_checkpoint_scores_every_category_in_range(detox: Any) -> None:
    results = detox.predict(TEXTS)
    assert len(results) == len(TEXTS)
    for s in results:
        assert set(s.values) == set(CATEGORIES)  # toxic/severe_toxic/identity_hate mapped
        assert all(0.0 <= v <= 1.0 for v in s.values.values())
        assert s.model == "detoxify(tiny.ckpt)"
    assert detox.predict([]) == []


def test_detoxify_checkpoint_is_deterministic_and_batch_equals_single(detox: Any) -> None:
    first = detox.predict(TEXTS)
    assert [dict(s.values) for s in detox.predict(TEXTS)] == [dict(s.values) for s in first]
    for text, batched in zip(TEXTS, first, strict=True):
        [single] = detox.predict([text])
        for c in CATEGORIES:
            assert single.values[c] == pytest.approx(batched.values[c], abs=1e-5)


def test_detoxify_checkpoint_uses_the_saved_weights(tiny_ckpt: Path, detox: Any) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    saved = torch.load(tiny_ckpt, weights_only=True)
    hf_dir = saved["config"]["arch"]["args"]["model_type"]
    model = BertForSequenceClassification(BertConfig.from_pretrained(hf_dir))
    model.load_state_dict(saved["state_dict"])
    model.eval()
    tokenizer = BertTokenizer.from_pretrained(hf_dir, local_files_only=True)
    with torch.inference_mode():
        expected = torch.sigmoid(model(**tokenizer(TEXTS, return_tensors="pt", padding=True))[0])
    for row, s in zip(expected.tolist(), detox.predict(TEXTS), strict=True):
        assert [s.values[c] for c in CATEGORIES] == pytest.approx(row, abs=1e-5)


def test_detoxify_checkpoint_scores_a_long_message_on_its_first_tokens(detox: Any) -> None:
    # The tiny model has 32 positions: [CLS], 30 words, [SEP]; each word is one token.
    # Its random weights score everything near 0.5, and 30 "idiot"s differ from 30
    # "hello"s by 8e-6 to 6e-5: the tolerance is below that and well above float noise.
    head = " ".join(["hello"] * 30)
    long, first = detox.predict([f"{head} " + "idiot " * 470, head])
    for c in CATEGORIES:
        assert long.values[c] == pytest.approx(first.values[c], abs=1e-6)


def test_detoxify_checkpoint_with_hub_model_type_is_unavailable(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path, model_type="bert-base-uncased")
    with pytest.raises(ModelUnavailable, match="not a local folder"):
        load_classifier(f"detoxify-checkpoint:{path}")


def test_default_with_detoxify_checkpoint_sends_only_its_uncertain_band(tiny_ckpt: Path) -> None:
    everything = load_classifier(f"default+detoxify-checkpoint:{tiny_ckpt}", band=(0.0, 1.0))
    assert everything.name == "combined(profanity-check,chat-minilm,detoxify(tiny.ckpt))"
    [s] = everything.predict(["hello everyone"])
    assert s.escalated and s.model == "combined(profanity-check,chat-minilm,detoxify(tiny.ckpt))"
    nothing = load_classifier(f"default+detoxify-checkpoint:{tiny_ckpt}", band=(1.0, 1.0))
    [s] = nothing.predict(["hello everyone"])
    assert not s.escalated and s.model == "combined(profanity-check,chat-minilm)"


def test_band_messages_take_the_checkpoints_scores(tiny_ckpt: Path, detox: Any) -> None:
    import numpy as np

    from safestream.moderation.classifiers.combined import CombinedClassifier

    class Fast:
        name = "fast"

        def predict(self, texts: list[str]) -> list[Any]:
            return detox.predict(texts)  # any Scores will do; only toxicity is read

    class Chat:
        name, meta = "chat", {"thresholds": {}}

        def raw(self, texts: list[str]) -> Any:
            out = np.zeros((len(texts), len(CATEGORIES)), dtype=np.float32)
            out[:, 0] = [0.5, 0.05][: len(texts)]
            return out

    clf = CombinedClassifier(Fast(), Chat(), detox, band=(0.3, 0.9))
    unsure, sure = clf.predict(["you are an idiot", "gg"])
    [expected] = detox.predict(["you are an idiot"])
    assert unsure.escalated and not sure.escalated
    assert unsure.values["threat"] == pytest.approx(expected.values["threat"])

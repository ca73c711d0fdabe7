"""The production model: a Detoxify checkpoint (BERT / RoBERTa / XLM-R) run on torch.

A Detoxify checkpoint is a ``torch.save`` of a dict::

    {"config": {"arch": {"args": {"model_type": ..., "model_name": ..., "tokenizer_name": ...,
                                  "num_classes": ...}},
                "dataset": {"args": {"classes": [...]}}},
     "state_dict": {...}}

``model_name``/``tokenizer_name`` are ``transformers`` class names (e.g.
``BertForSequenceClassification`` / ``BertTokenizer``), ``model_type`` is where the Hugging
Face config and tokenizer come from. Outputs are ``sigmoid(logits)`` per class.

Loading uses the ``detoxify`` package's own ``get_model_and_tokenizer`` (detoxify 0.5.4
works with transformers 5 when it is given a local config folder), always with a local
folder as ``huggingface_config_path`` so nothing is fetched: ``model_type`` must be a
local folder, or ``huggingface_config_path`` must be given. The checkpoint is read with
``torch.load(weights_only=True)``; only if that refuses the file (a checkpoint that pickles
other objects, which Detoxify itself accepts) is it re-read with ``weights_only=False``, which
runs pickled code: configure only checkpoint files you trust.

Class names are mapped as Detoxify does (``toxic`` -> ``toxicity``, ``severe_toxic`` ->
``severe_toxicity``, ``identity_hate`` -> ``identity_attack``); our categories a checkpoint
lacks score 0; ``sexual_explicit`` is kept as an extra category; identity-subgroup
outputs of the ``unbiased`` model are dropped.

Named models (``detoxify:original`` ...) are used only from the torch hub cache
(``$TORCH_HOME/hub/checkpoints``) with their tokenizer in the Hugging Face cache; this never
downloads them.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safestream.moderation.classifiers._torch import configure_torch, offline_hf
from safestream.moderation.classifiers._types import (
    CATEGORIES,
    ModelUnavailable,
    Scores,
    scores_from,
)

log = logging.getLogger(__name__)

CLASS_NAMES: Mapping[str, str] = {
    "toxic": "toxicity",
    "severe_toxic": "severe_toxicity",
    "identity_hate": "identity_attack",
}
EXTRA_CATEGORIES = frozenset({"sexual_explicit"})
NAMED = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")


def _load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    if not path.is_file():
        raise ModelUnavailable(f"Detoxify checkpoint {path} does not exist")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        log.warning("checkpoint %s holds pickled objects; loading with weights_only=False", path)
        loaded = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError) as exc:
        raise ModelUnavailable(f"cannot read Detoxify checkpoint {path}: {exc}") from exc
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise ModelUnavailable(f"{path} is not a Detoxify checkpoint (needs config + state_dict)")
    return loaded


class DetoxifyClassifier:
    """A Detoxify-format checkpoint loaded from local files only.

    Args:
        checkpoint: the ``.ckpt`` file.
        huggingface_config_path: folder with the Hugging Face config + tokenizer; defaults to
            the checkpoint's ``config.arch.args.model_type`` when that is a local folder.
        torch_threads: torch intra-op threads (process-wide), default 1.
        batch_size: texts per forward pass.
        name: the name used in the decision log.

    Raises:
        ModelUnavailable: file missing or malformed, no local config folder, or packages
            missing.
    """

    def __init__(
        self,
        checkpoint: Path,
        *,
        huggingface_config_path: Path | None = None,
        torch_threads: int | None = None,
        batch_size: int = 32,
        name: str | None = None,
    ) -> None:
        offline_hf()
        try:
            import torch
            from detoxify.detoxify import get_model_and_tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailable("Detoxify needs 'torch' and 'detoxify' (extra 'ml')") from exc
        self.torch_threads = configure_torch(torch_threads)
        loaded = _load_checkpoint(Path(checkpoint))
        try:
            args = dict(loaded["config"]["arch"]["args"])
            classes = list(loaded["config"]["dataset"]["args"]["classes"])
        except (KeyError, TypeError) as exc:
            raise ModelUnavailable(f"{checkpoint}: malformed Detoxify config ({exc})") from exc
        config_dir = huggingface_config_path or Path(str(args.get("model_type", "")))
        if not config_dir.is_dir():
            raise ModelUnavailable(
                f"{checkpoint}: model_type {args.get('model_type')!r} is not a local folder; "
                "give the folder holding the Hugging Face config and tokenizer "
                "(huggingface_config_path) or point config.arch.args.model_type at it"
            )
        args["model_type"] = str(config_dir)
        try:
            model, tokenizer = get_model_and_tokenizer(
                **args,
                state_dict=loaded["state_dict"],
                huggingface_config_path=str(config_dir),
            )
        except (OSError, ValueError, AttributeError, RuntimeError) as exc:
            raise ModelUnavailable(f"cannot build the model of {checkpoint}: {exc}") from exc
        self._torch = torch
        self._model: Any = model.eval()
        self._tokenizer: Any = tokenizer
        self.class_names = [CLASS_NAMES.get(c, c) for c in classes]
        self.batch_size = batch_size
        self.name = name or f"detoxify({Path(checkpoint).name})"
        limit = getattr(model.config, "max_position_embeddings", 512)
        self._max_length = min(int(getattr(tokenizer, "model_max_length", limit)), limit)
        self._lock = threading.Lock()

    @classmethod
    def named(cls, variant: str, *, torch_threads: int | None = None) -> DetoxifyClassifier:
        """A released Detoxify model, only if already in the local caches; never downloads.

        Raises:
            ValueError: unknown variant.
            ModelUnavailable: weights or tokenizer not cached.
        """
        if variant not in NAMED:
            raise ValueError(f"unknown Detoxify model {variant!r}; choose from {NAMED}")
        offline_hf()
        import torch
        from detoxify.detoxify import MODEL_URLS

        url = MODEL_URLS[variant]
        cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
        if not cached.is_file():
            raise ModelUnavailable(
                f"Detoxify {variant!r} weights are not cached at {cached} and this server "
                f"does not download models. Fetch {url} yourself and configure "
                "MODERATION_MODEL=detoxify-checkpoint:/path/to/file.ckpt (see docs/moderation.md)"
            )
        loaded = _load_checkpoint(cached)
        repo = str(loaded["config"]["arch"]["args"]["model_type"])
        try:
            from huggingface_hub import snapshot_download

            config_dir = Path(snapshot_download(repo, local_files_only=True))
        except (OSError, ValueError) as exc:  # LocalEntryNotFoundError, HFValidationError
            raise ModelUnavailable(
                f"Detoxify {variant!r}: tokenizer/config {repo!r} not in the Hugging Face cache"
            ) from exc
        return cls(
            cached,
            huggingface_config_path=config_dir,
            torch_threads=torch_threads,
            name=f"detoxify:{variant}",
        )

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Score each text as Detoxify does: ``sigmoid(model(**tokenizer(batch))[0])``."""
        out: list[Scores] = []
        torch = self._torch
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = list(texts[start : start + self.batch_size])
                enc = self._tokenizer(
                    batch,
                    return_tensors="pt",
                    truncation=True,
                    padding=True,
                    max_length=self._max_length,
                )
                probs = torch.sigmoid(self._model(**enc)[0]).tolist()
                out.extend(self._scores(row) for row in probs)
        return out

    def _scores(self, row: Sequence[float]) -> Scores:
        values = {
            c: float(p)
            for c, p in zip(self.class_names, row, strict=True)
            if c in CATEGORIES or c in EXTRA_CATEGORIES
        }
        return scores_from(values, model=self.name)

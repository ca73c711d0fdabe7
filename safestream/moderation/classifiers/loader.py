"""Build a classifier from a configuration string (``MODERATION_MODEL``).

==========================================  ================================================
spec                                        model
==========================================  ================================================
``default``                                 profanity-check + the fine-tuned chat model,
                                            learned combiner, calibrated (offline)
``default+detoxify-checkpoint:PATH``        the same, with a local Detoxify checkpoint
                                            for the uncertain band
``chat-minilm``                             the fine-tuned chat model alone (raw outputs)
``cascade-v1``                              the first default: profanity-check + MiniLM
                                            heads, per-category ``max`` (for comparison)
``keyword``                                 :class:`KeywordClassifier` (tests)
``profanity``                               :class:`ProfanityCheckClassifier`
``minilm``                                  :class:`MiniLMHeadsClassifier`
``detoxify:original`` (``unbiased``,        a released Detoxify model, only if already in
``multilingual``, ``original-small``,       the local torch hub / Hugging Face caches
``unbiased-small``)
``detoxify-checkpoint:PATH``                a local Detoxify-format checkpoint file
==========================================  ================================================

Example:
    >>> load_classifier("keyword").predict(["hello"])[0].top
    0.0
"""

from __future__ import annotations

from pathlib import Path

from safestream.moderation.classifiers._types import Classifier
from safestream.moderation.classifiers.cascade import CascadeClassifier
from safestream.moderation.classifiers.combined import DEFAULT_BAND, CombinedClassifier
from safestream.moderation.classifiers.keyword import KeywordClassifier

SPECS = (
    "default",
    "cascade-v1",
    "chat-minilm",
    "default+detoxify-checkpoint:PATH",
    "keyword",
    "profanity",
    "minilm",
    "detoxify:original",
    "detoxify:unbiased",
    "detoxify:multilingual",
    "detoxify-checkpoint:PATH",
)


def load_classifier(
    spec: str,
    *,
    torch_threads: int | None = None,
    chat_model: Path | None = None,
    band: tuple[float, float] = DEFAULT_BAND,
) -> Classifier:
    """Load the model named by ``spec`` (see the module docstring); never downloads.

    Args:
        spec: the model specification, e.g. ``"default"``.
        torch_threads: torch intra-op threads for torch models (process-wide), default 1.
        chat_model: the chat model file for ``default`` / ``chat-minilm`` (a retrained
            version); the shipped one when None.
        band: the default model's uncertain ``toxicity`` band sent to Detoxify.

    Raises:
        ValueError: ``spec`` is not a known form.
        ModelUnavailable: the model's files or packages are not available here.
    """
    from safestream.moderation.classifiers.chat_model import ChatModelClassifier
    from safestream.moderation.classifiers.detoxify_model import DetoxifyClassifier
    from safestream.moderation.classifiers.minilm import MiniLMHeadsClassifier
    from safestream.moderation.classifiers.profanity import ProfanityCheckClassifier

    spec = spec.strip()
    if spec == "keyword":
        return KeywordClassifier()
    if spec == "profanity":
        return ProfanityCheckClassifier()
    if spec == "minilm":
        return MiniLMHeadsClassifier(torch_threads=torch_threads)
    if spec == "cascade-v1":
        return CascadeClassifier(
            ProfanityCheckClassifier(), MiniLMHeadsClassifier(torch_threads=torch_threads)
        )
    if spec == "default" or spec.startswith("default+"):
        extra: Classifier | None = None
        if spec != "default":
            rest = spec.removeprefix("default+")
            if not rest.startswith("detoxify"):
                raise ValueError(f"unknown model spec {spec!r}; expected one of {SPECS}")
            extra = load_classifier(rest, torch_threads=torch_threads)
        return CombinedClassifier(
            ProfanityCheckClassifier(),
            ChatModelClassifier(chat_model, torch_threads=torch_threads),
            extra,
            band=band,
        )
    if spec == "chat-minilm":
        return ChatModelClassifier(chat_model, torch_threads=torch_threads)
    if spec.startswith("detoxify-checkpoint:"):
        path = spec.removeprefix("detoxify-checkpoint:").strip()
        if not path:
            raise ValueError("detoxify-checkpoint: needs a file path")
        return DetoxifyClassifier(Path(path).expanduser(), torch_threads=torch_threads)
    if spec.startswith("detoxify:"):
        return DetoxifyClassifier.named(spec.removeprefix("detoxify:"), torch_threads=torch_threads)
    raise ValueError(f"unknown model spec {spec!r}; expected one of {SPECS}")

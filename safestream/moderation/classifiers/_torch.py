"""Shared set-up for the torch-based models: offline Hugging Face, explicit thread counts.

Nothing in this layer may download at run time. :func:`offline_hf` sets ``HF_HUB_OFFLINE``
and ``TRANSFORMERS_OFFLINE`` (unless the operator set them) before ``transformers`` is first
imported, and every ``from_pretrained`` call also passes ``local_files_only=True``, which
holds even when ``transformers`` was imported earlier by someone else.
"""

from __future__ import annotations

import os


def offline_hf() -> None:
    """Make Hugging Face libraries work from local files only (idempotent)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def set_torch_threads(torch_threads: int | None) -> int:
    """Set torch's intra-op thread count (process-wide) to ``torch_threads or 1``.

    One thread per model call is the default: the moderation pool scales out with
    workers, and a 2-core box also runs the chat server.

    Returns:
        The thread count now in effect.
    """
    import torch

    n = torch_threads or 1
    if n < 1:
        raise ValueError(f"torch_threads must be >= 1, got {n}")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n

"""Shared set-up for the torch-based models: offline Hugging Face, explicit thread counts,
torch's own CPU kernels instead of oneDNN's.

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


def configure_torch(torch_threads: int | None) -> int:
    """Set torch's intra-op thread count to ``torch_threads or 1`` and turn off its oneDNN
    (mkldnn) kernels; both are process-wide.

    One thread per model call is the default: the moderation pool scales out with
    workers, and a 2-core box also runs the chat server.

    oneDNN is off because chat batches come in many shapes (texts x tokens): torch
    runs GELU through oneDNN, which compiles and caches one kernel per shape (up to
    1,024, ~27 KB each) and leaves the heap fragmented around them. Scoring 40,000
    varied lines in batches of up to 32 grew RSS by 600 MB with it and by 240 MB
    without, at the same speed (``load/model_memory.py``; ``docs/benchmarks.md``,
    "Model memory"). torch's own kernels give the same scores.

    Returns:
        The thread count now in effect.
    """
    import torch

    n = torch_threads or 1
    if n < 1:
        raise ValueError(f"torch_threads must be >= 1, got {n}")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]  # a documented bool
    return n

"""Train the bundled MiniLM heads; see :mod:`safestream.moderation.training.train`.

Usage::

    python -m safestream.moderation.train \
        --data ../shared/data/toxicity/train.csv \
        --out safestream/moderation/models/minilm_heads.json
"""

from __future__ import annotations

from safestream.moderation.training.train import main

if __name__ == "__main__":
    raise SystemExit(main())

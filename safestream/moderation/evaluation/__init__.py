"""Measuring the moderation models on data they never trained on.

Two held-out sets: :func:`~safestream.moderation.evaluation.sets.chat_set` (our own
hand-written chat lines, ``eval_chat.csv``, never read by any training step) and
:func:`~safestream.moderation.evaluation.sets.jigsaw_set` (the 20 % of the shared data
that the training split holds out). :mod:`.report` computes ROC-AUC, precision, recall,
F1, FPR and the confusion at the default threshold, overall and per category, and renders
the Markdown tables of ``docs/moderation.md``:

    python -m safestream.moderation.evaluation --models cascade-v1,default \
        --write-docs docs/moderation.md
"""

from __future__ import annotations

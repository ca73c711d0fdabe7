"""Training of the bundled models (see ``docs/moderation.md``).

``python -m safestream.moderation.training.finetune`` trains the chat model of the default
classifier; ``python -m safestream.moderation.train`` the MiniLM heads of ``cascade-v1``.
Nothing here reads the held-out evaluation sets: measure with
``python -m safestream.moderation.evaluation``.
"""

"""Training and evaluation of the bundled MiniLM heads (see ``docs/moderation.md``).

``python -m safestream.moderation.train`` trains; ``python -m
safestream.moderation.training.evaluate`` measures every model on the held-out data.
"""

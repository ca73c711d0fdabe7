"""Moderation: the pluggable toxicity classifiers, the moderation pool and per-room policy."""

"""Test models shared by the test folders (importable from any of them)."""

from __future__ import annotations

from collections.abc import Sequence

from safestream.moderation.classifiers import KeywordClassifier, Scores


class Wordless:
    """The keyword model with its words hidden, as a semantic model answers: the scores
    name no driving words, so held messages are explained by occlusion."""

    name = "wordless"

    def __init__(self) -> None:
        self.inner = KeywordClassifier()

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        return [Scores(s.values, model=self.name) for s in self.inner.predict(texts)]

"""Occlusion names the words behind a score for a model that cannot name them itself."""

from __future__ import annotations

from collections.abc import Sequence

from safestream.moderation.classifiers import KeywordClassifier, Scores
from safestream.moderation.occlusion import explain, variants, words_of
from safestream.moderation.policy import Band, RoomPolicy


class Wordless:
    """The keyword model with its triggers hidden, as a semantic model would answer."""

    name = "wordless"

    def __init__(self) -> None:
        self.inner = KeywordClassifier()
        self.batches: list[int] = []

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        self.batches.append(len(texts))
        return [Scores(s.values, model=self.name) for s in self.inner.predict(texts)]


async def score_with(model: Wordless, texts: Sequence[str]) -> list[Scores | None]:
    return list(model.predict(texts))


def test_words_are_distinct_bounded_and_removed_whole() -> None:
    assert words_of("You idiot, you IDIOT! don't", max_words=10) == ["You", "idiot", "don't"]
    assert words_of("a b c d", max_words=2) == ["a", "b"]
    assert variants("you idiot, you IDIOT", ["idiot", "you"]) == ["you , you", "idiot, IDIOT"]


async def test_occlusion_names_the_word_that_drove_the_score_on_a_keyword_model() -> None:
    model = Wordless()
    text = "honestly you are an idiot today"
    [scores] = model.predict([text])
    policy = RoomPolicy(version=2, bands=(Band("insult", 0.6, "hold"),))
    why = policy.decide(text, scores.values, scores.triggers).why()
    assert why.needs_occlusion  # the model named nothing

    explained = await explain(why, text, lambda t: score_with(model, t), max_words=40)
    assert explained.by == "occlusion"
    assert [d.word for d in explained.drivers] == ["idiot"]
    assert explained.drivers[0].weight == 0.85  # insult without "idiot": 0
    assert model.batches[-1] == 1 + len(words_of(text, 40))  # one batch: the line + a variant each


async def test_occlusion_finds_each_word_of_a_phrase_and_ranks_by_drop() -> None:
    model = Wordless()
    text = "i will kill you, stupid"
    [scores] = model.predict([text])
    why = RoomPolicy(bands=(Band("threat", 0.5, "block"),)).decide(text, scores.values).why()
    explained = await explain(why, text, lambda t: score_with(model, t), max_words=40)
    assert {d.word for d in explained.drivers} == {"kill", "you"}


async def test_a_line_without_a_driving_word_gets_no_drivers() -> None:
    model = Wordless()
    why = RoomPolicy().decide("good game", {"toxicity": 0.0}).why()
    explained = await explain(why, "good game", lambda t: score_with(model, t), max_words=40)
    assert explained.by == "occlusion" and explained.drivers == ()

"""The classifier layer: Scores, keyword, profanity-check, MiniLM heads, cascade, loader."""

from __future__ import annotations

import time
from typing import Any

import pytest

from safestream.moderation.classifiers import (
    CATEGORIES,
    Classifier,
    KeywordClassifier,
    ModelUnavailable,
    Scores,
    load_classifier,
)

BENIGN = ["gg", "hello everyone", "nice shot!", "what game is this?"]
THREAT = "i will find you and beat you up"
SWEAR = "fuck you, this is shit"


def zeros(**over: float) -> dict[str, float]:
    return {c: 0.0 for c in CATEGORIES} | over


def assert_valid(results: list[Scores], texts: list[str]) -> None:
    assert len(results) == len(texts)
    for s in results:
        assert isinstance(s, Scores)
        assert set(CATEGORIES) <= set(s.values)
        assert all(0.0 <= v <= 1.0 for v in s.values.values())
        assert s.model


def test_scores_top_is_max_over_categories() -> None:
    s = Scores(zeros(toxicity=0.2, threat=0.7))
    assert s.top == pytest.approx(0.7)
    assert s["threat"] == pytest.approx(0.7)


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_scores_rejects_values_outside_unit_interval(bad: float) -> None:
    with pytest.raises(ValueError):
        Scores(zeros(insult=bad))


def test_scores_rejects_missing_category_and_is_read_only() -> None:
    with pytest.raises(ValueError, match="missing"):
        Scores({"toxicity": 0.5})
    s = Scores(zeros())
    with pytest.raises(TypeError):
        s.values["toxicity"] = 1.0  # type: ignore[index]


def test_keyword_reports_triggers_as_written_with_leetspeak() -> None:
    clf = KeywordClassifier()
    [plain, leet, stretched, clean] = clf.predict(
        ["you idiot", "y0u 1d10t and $h1t!", "STUUUPID", "skill issue, hello"]
    )
    assert plain.triggers == ("idiot",)
    assert leet.triggers == ("1d10t", "$h1t")
    assert leet.values["insult"] > 0.5 and leet.values["obscene"] > 0.5
    assert stretched.triggers == ("STUUUPID",)
    assert clean.triggers == () and clean.top == 0.0


def test_keyword_matches_phrases_and_word_boundaries_only() -> None:
    clf = KeywordClassifier({"kill you": {"threat": 0.9}, "ass": {"obscene": 0.7}})
    [phrase, inside] = clf.predict(["i will KILL...you", "a classic pass"])
    assert phrase.triggers == ("KILL...you",)
    assert phrase.values["threat"] == pytest.approx(0.9)
    assert phrase.values["toxicity"] == pytest.approx(0.9)  # defaults to the entry's max
    assert inside.top == 0.0


def test_keyword_rejects_unknown_category() -> None:
    with pytest.raises(ValueError, match="unknown categories"):
        KeywordClassifier({"x": {"rudeness": 0.5}})


@pytest.mark.parametrize("model", ["keyword", "profanity", "minilm", "cascade"])
def test_every_classifier_returns_one_valid_scores_per_text(
    model: str, request: pytest.FixtureRequest
) -> None:
    clf: Classifier = KeywordClassifier() if model == "keyword" else request.getfixturevalue(model)
    assert isinstance(clf, Classifier)
    texts = [*BENIGN, THREAT, SWEAR, "", "🙂" * 300]
    assert_valid(clf.predict(texts), texts)
    assert clf.predict([]) == []


def test_profanity_flags_swearing_with_triggers_and_not_greetings(profanity: Any) -> None:
    [swear, hello] = profanity.predict([SWEAR, "hello everyone"])
    assert swear.values["toxicity"] > 0.9 and swear.values["obscene"] > 0.9
    assert {"fuck", "shit"} <= set(swear.triggers)
    assert swear.values["threat"] == 0.0 and swear.values["severe_toxicity"] <= 0.5
    assert hello.values["toxicity"] < 0.2 and hello.triggers == ()


def test_minilm_flags_threat_without_swear_words(minilm: Any) -> None:
    [threat] = minilm.predict([THREAT])
    assert threat.values["threat"] > 0.5
    assert threat.triggers == ()


def test_minilm_scores_benign_chat_low(minilm: Any) -> None:
    for s in minilm.predict(BENIGN):
        assert s.values["threat"] < 0.2 and s.values["identity_attack"] < 0.2
        assert s.top < 0.6


def test_minilm_batch_matches_single(minilm: Any) -> None:
    texts = [THREAT, "gg", "a much longer message about the boss fight and the music"]
    batch = minilm.predict(texts)
    for text, s in zip(texts, batch, strict=True):
        [single] = minilm.predict([text])
        for c in CATEGORIES:
            assert single.values[c] == pytest.approx(s.values[c], abs=1e-4)


def test_cascade_catches_swearing_and_plain_threats(cascade: Any) -> None:
    swear, threat, *benign = cascade.predict([SWEAR, THREAT, *BENIGN])
    assert swear.values["obscene"] > 0.9 and "fuck" in swear.triggers
    assert swear.model == "cascade(profanity-check)"  # certain already: MiniLM skipped
    assert threat.values["threat"] > 0.5
    assert threat.model == "cascade(profanity-check,minilm)"
    assert all(s.values["threat"] < 0.2 for s in benign)


def test_cascade_takes_per_category_max() -> None:
    from safestream.moderation.classifiers import CascadeClassifier

    fast = KeywordClassifier({"idiot": {"insult": 0.5}})
    semantic = KeywordClassifier({"idiot": {"threat": 0.3, "insult": 0.2}})
    [s] = CascadeClassifier(fast, semantic).predict(["idiot"])
    assert s.values["insult"] == 0.5 and s.values["threat"] == 0.3
    assert s.triggers == ("idiot",)


@pytest.mark.parametrize("spec", ["", "nope", "detoxify-checkpoint:", "default+keyword"])
def test_load_classifier_rejects_unknown_spec(spec: str) -> None:
    with pytest.raises(ValueError):
        load_classifier(spec)


def test_load_classifier_builds_the_offline_models() -> None:
    assert load_classifier("keyword").name == "keyword"
    assert load_classifier("profanity").name == "profanity-check"


def test_named_detoxify_offline_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache
    start = time.monotonic()
    with pytest.raises(ModelUnavailable, match="not cached"):
        load_classifier("detoxify:original")
    assert time.monotonic() - start < 5.0


def test_named_detoxify_unknown_variant() -> None:
    with pytest.raises(ValueError, match="unknown Detoxify model"):
        load_classifier("detoxify:huge")


def test_missing_checkpoint_file_is_model_unavailable(tmp_path: Any) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        load_classifier(f"detoxify-checkpoint:{tmp_path / 'nope.ckpt'}")


def test_profanity_fast_path_equals_scikit_learns_predict_proba(profanity: Any) -> None:
    texts = [*BENIGN, THREAT, SWEAR, "this game is shit", "what an asshole", "", "gg " * 200]
    assert profanity._folds is not None  # the installed package has the expected shape
    features = profanity._vectorizer.transform(texts)
    expected = profanity._model.predict_proba(features)[:, 1]
    assert profanity.probabilities(texts) == pytest.approx(list(expected), abs=1e-12)

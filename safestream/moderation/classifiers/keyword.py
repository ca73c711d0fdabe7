"""A deterministic word-list classifier, for tests and as a last-resort fallback.

It finds listed words and phrases on word boundaries, case-insensitively, after a simple
leetspeak normalisation (``1d10t`` -> ``idiot``, ``$h1t`` -> ``shit``) and letting letters
repeat (``stuuupid``). Each listed entry carries scores per category; a message scores the
maximum over the entries it contains, and the entries' surface forms are its triggers.

Example:
    >>> clf = KeywordClassifier()
    >>> s = clf.predict(["you 1d10t"])[0]
    >>> s.triggers, s.values["insult"] > 0.5
    (('1d10t',), True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from safestream.moderation.classifiers._types import CATEGORIES, Scores, scores_from

# Characters written in place of a letter. Matching uses character classes instead of
# rewriting the text, so offsets stay those of the original and a trailing "!" stays "!".
_LEET: Mapping[str, str] = {
    "a": "4@", "e": "3", "i": "1!|", "l": "1|", "o": "0", "s": "5$", "t": "7+",
}  # fmt: skip

DEFAULT_WORDS: Mapping[str, Mapping[str, float]] = {
    "idiot": {"toxicity": 0.8, "insult": 0.85},
    "stupid": {"toxicity": 0.7, "insult": 0.75},
    "moron": {"toxicity": 0.8, "insult": 0.85},
    "loser": {"toxicity": 0.6, "insult": 0.65},
    "trash": {"toxicity": 0.5, "insult": 0.5},
    "shit": {"toxicity": 0.8, "obscene": 0.85},
    "fuck": {"toxicity": 0.95, "obscene": 0.95, "severe_toxicity": 0.4},
    "fucking": {"toxicity": 0.9, "obscene": 0.9, "severe_toxicity": 0.3},
    "bitch": {"toxicity": 0.9, "obscene": 0.8, "insult": 0.85},
    "asshole": {"toxicity": 0.9, "obscene": 0.8, "insult": 0.9},
    "kill you": {"toxicity": 0.85, "threat": 0.9},
    "kys": {"toxicity": 0.95, "threat": 0.8, "severe_toxicity": 0.6},
    "watch your back": {"toxicity": 0.6, "threat": 0.75},
}
"""The built-in list: small on purpose; pass your own mapping for real use."""


def _pattern(entry: str) -> str:
    words = entry.lower().split()

    def letter(ch: str) -> str:
        return "[" + re.escape(ch + _LEET.get(ch, "")) + "]+"  # letters may repeat: "stuuupid"

    # Words of a phrase may be separated by any run of spaces and punctuation.
    return r"[\W_]+".join("".join(letter(ch) for ch in w) for w in words)


class KeywordClassifier:
    """Scores messages by the listed words they contain.

    Args:
        words: entry (a word or a phrase) -> {category: score}. Categories not given score
            0; ``toxicity`` defaults to the entry's highest score. ``None`` uses
            :data:`DEFAULT_WORDS`.

    Raises:
        ValueError: an unknown category name or a score outside [0, 1].
    """

    name = "keyword"

    def __init__(self, words: Mapping[str, Mapping[str, float]] | None = None) -> None:
        entries = DEFAULT_WORDS if words is None else words
        self._entries: list[tuple[re.Pattern[str], dict[str, float]]] = []
        for entry, cats in entries.items():
            unknown = set(cats) - set(CATEGORIES)
            if unknown:
                raise ValueError(f"unknown categories {sorted(unknown)} for {entry!r}")
            if any(not 0.0 <= v <= 1.0 for v in cats.values()):
                raise ValueError(f"scores for {entry!r} must be in [0, 1]")
            full = dict(cats)
            full.setdefault("toxicity", max(cats.values(), default=0.0))
            regex = re.compile(r"(?<![a-z])" + _pattern(entry) + r"(?![a-z])")
            self._entries.append((regex, full))

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Score each text; see the module docstring."""
        return [self._score(text) for text in texts]

    def _score(self, text: str) -> Scores:
        normalised = text.lower()
        best = dict.fromkeys(CATEGORIES, 0.0)
        hits: list[tuple[int, str]] = []
        for regex, cats in self._entries:
            for m in regex.finditer(normalised):
                hits.append((m.start(), text[m.start() : m.end()]))
                for cat, value in cats.items():
                    best[cat] = max(best[cat], value)
        triggers = [surface for _, surface in sorted(hits)]
        return scores_from(best, triggers=triggers, model=self.name)

"""Which words drove a score, for models that cannot say: occlusion.

A keyword list or profanity-check names the words it reacted to (`Scores.triggers`); a
semantic model (MiniLM heads, Detoxify) does not. Occlusion asks it anyway: score the
line once as written and once with each of its words removed, all in one batch; a word
whose removal lowers the score of the category that decided (the rule's category, else
the highest) is a driver, weighted by how much it lowers it.

It costs one text per distinct word (at most `OCCLUSION_MAX_WORDS`), so the app runs it
only for held and blocked messages and when a moderator asks, through the
`BackgroundScorer` (live moderation first).

Example:
    why = await explain(why, "i will find you", scorer.score, max_words=40)
    why.drivers    # (Driver("find", 0.62), Driver("will", 0.08))
    why.by         # "occlusion"
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence

from safestream.moderation.classifiers import Scores
from safestream.moderation.why import Driver, Why

__all__ = [
    "MIN_DROP",
    "RELATIVE_DROP",
    "TOP_DRIVERS",
    "driving_words",
    "explain",
    "variants",
    "words_of",
]

WORD = re.compile("\\w+(?:['\u2019-]\\w+)*")  # "don't", "don\u2019t", "well-known"
MIN_DROP = 0.05  # a word whose removal lowers the score by less is not a driver
RELATIVE_DROP = 0.25  # ... nor one that lowers it by less than this share of the biggest drop
TOP_DRIVERS = 5

ScoreFn = Callable[[Sequence[str]], Awaitable[list[Scores | None]]]


def words_of(text: str, max_words: int) -> list[str]:
    """The distinct words of `text` (first spelling kept), at most `max_words`."""
    seen: dict[str, str] = {}
    for match in WORD.finditer(text):
        seen.setdefault(match.group(0).lower(), match.group(0))
        if len(seen) >= max_words:
            break
    return list(seen.values())


def variants(text: str, words: Sequence[str]) -> list[str]:
    """`text` once per word, with every whole-word occurrence of it removed."""
    out = []
    for word in words:
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
        out.append(" ".join(pattern.sub(" ", text).split()))
    return out


def driving_words(
    base: Mapping[str, float],
    category: str,
    words: Sequence[str],
    without: Sequence[Mapping[str, float] | None],
    *,
    top: int = TOP_DRIVERS,
    min_drop: float = MIN_DROP,
) -> tuple[Driver, ...]:
    """The words whose removal lowers `category`'s score by `min_drop` or more (and by at
    least `RELATIVE_DROP` of the biggest drop), the biggest drop first (at most `top`);
    `without[i]` scores the line without `words[i]`."""
    score = base.get(category, 0.0)
    drops = [
        (score - scores.get(category, 0.0), word)
        for word, scores in zip(words, without, strict=True)
        if scores is not None
    ]
    cut = max(min_drop, RELATIVE_DROP * max((d for d, _w in drops), default=0.0))
    drops = sorted((d for d in drops if d[0] >= cut), key=lambda d: -d[0])
    return tuple(Driver(word, round(drop, 4)) for drop, word in drops[:top])


async def explain(why: Why, text: str, score: ScoreFn, *, max_words: int) -> Why:
    """`why` with its driving words found by occlusion (unchanged when the line has no
    words or the model fails on the line itself).

    Raises:
        ModerationUnavailable: from `score`; nothing is changed.
    """
    words = words_of(text, max_words)
    if not words:
        return why
    results = await score([text, *variants(text, words)])
    base = results[0]
    if base is None:
        return why
    category = why.rule.category if why.rule.kind in ("band", "none") else ""
    if not category:
        category = max(base.values.items(), key=lambda item: item[1])[0]
    without = [r.values if r is not None else None for r in results[1:]]
    return why.with_drivers(driving_words(base.values, category, words, without), "occlusion")

"""Background scoring waits for live moderation and goes in small chunks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import trio

from safestream.moderation.background import BackgroundScorer
from safestream.moderation.classifiers import KeywordClassifier, Scores


class FakeClient:
    """A moderation client whose live backlog the test sets."""

    def __init__(self) -> None:
        self.queued = 0
        self.calls: list[tuple[float, int]] = []
        self.model = KeywordClassifier()

    def backlog(self) -> int:
        return self.queued

    async def score(self, texts: Sequence[str]) -> list[Scores | None]:
        self.calls.append((trio.current_time(), len(texts)))
        await trio.sleep(0.1)  # the model's time
        return list(self.model.predict(texts))


def scorer(client: FakeClient, chunk: int = 8) -> BackgroundScorer:
    return BackgroundScorer(client, chunk=chunk, limiter=trio.CapacityLimiter(1))  # type: ignore[arg-type]


async def test_background_scoring_goes_in_chunks_and_keeps_order(autojump_clock: Any) -> None:
    client = FakeClient()
    texts = [f"idiot {i}" if i % 2 else f"hello {i}" for i in range(20)]
    scores = await scorer(client).score(texts)
    assert [size for _t, size in client.calls] == [8, 8, 4]
    assert [s is not None and s.values["insult"] > 0 for s in scores] == [
        i % 2 == 1 for i in range(20)
    ]


async def test_background_scoring_waits_while_live_requests_are_queued(autojump_clock: Any) -> None:
    client = FakeClient()
    client.queued = 3
    background = scorer(client)

    async def live_batches_drain() -> None:
        await trio.sleep(5.0)
        client.queued = 0

    async with trio.open_nursery() as nursery:
        nursery.start_soon(live_batches_drain)
        await background.score(["a", "b"])
    assert client.calls[0][0] >= 5.0  # nothing was sent while live work waited
    assert background.waits > 0


async def test_one_background_chunk_at_a_time_per_node(autojump_clock: Any) -> None:
    client = FakeClient()
    shared = trio.CapacityLimiter(1)
    first = BackgroundScorer(client, chunk=1, limiter=shared)  # type: ignore[arg-type]
    second = BackgroundScorer(client, chunk=1, limiter=shared)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(first.score, ["a", "b"])
        nursery.start_soon(second.score, ["c", "d"])
    starts = sorted(t for t, _n in client.calls)
    assert all(later - earlier >= 0.1 for earlier, later in itertools.pairwise(starts))

"""Scoring for replays and explanations that never slows live moderation.

Live rooms ask the moderation pool (`ModerationClient.score`) for every batch of chat.
A replay's re-score or an occlusion needs the same model for many texts nobody is
waiting to read. `BackgroundScorer` sends them in small chunks (`BACKGROUND_SCORE_CHUNK`
texts), one chunk at a time per node (a named `CapacityLimiter`), and only when no live
request waits in any worker's mailbox: live batches go first, and one that arrives while
a chunk is scored waits for that small chunk only.

Cancellation (a replay's deadline) stops between or during chunks; a caller that wants
to keep partial results (and report progress) calls `score` once per slice of its texts.

Example:
    scorer = BackgroundScorer(client, chunk=16, limiter=trio.CapacityLimiter(1))
    scores = await scorer.score(["you idiot", "you"])      # [Scores | None, ...]
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from safestream.moderation.classifiers import Scores
from safestream.moderation.pool import ModerationClient

__all__ = ["BackgroundScorer"]

QUIET_POLL_SECS = 0.01


class BackgroundScorer:
    """Low-priority scoring through the live moderation pool."""

    def __init__(
        self, client: ModerationClient, *, chunk: int, limiter: trio.CapacityLimiter
    ) -> None:
        self._client = client
        self._chunk = max(1, chunk)
        self._limiter = limiter
        self.chunks = 0  # scored so far (introspection, tests)
        self.waits = 0  # times a chunk waited for live work to drain

    async def score(self, texts: Sequence[str]) -> list[Scores | None]:
        """One Scores (None: the model failed on that text) per text, in order.

        Raises:
            ModerationUnavailable: as `ModerationClient.score`.
        """
        out: list[Scores | None] = []
        for start in range(0, len(texts), self._chunk):
            part = list(texts[start : start + self._chunk])
            async with self._limiter:
                await self._quiet()
                out.extend(await self._client.score(part))
            self.chunks += 1
        return out

    async def _quiet(self) -> None:
        """Wait until no live request is queued in a worker's mailbox."""
        while self._client.backlog() > 0:
            self.waits += 1
            await trio.sleep(QUIET_POLL_SECS)

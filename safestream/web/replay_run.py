"""One replay, run page by page: read a window of a room's stored messages, optionally
score them again, and feed them to `moderation.replay.Replay`.

`plan` turns a validated `ReplayRequest` into a `Window` (bounds from the settings,
refusals naming the field); `ReplayRun.step` reads and decides one page and says
whether there is more, so a route can report progress between pages and stop at the
deadline (`REPLAY_TIMEOUT_SECS`) with what it has. Re-scoring goes through the node's
`BackgroundScorer`, so live moderation is never kept waiting by a replay.

Example:
    window = await plan(ctx, "main", request)
    run = ReplayRun(ctx, "main", window, candidate, rescore=False)
    while await run.step():
        print(run.read, "of", window.messages)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from safestream.moderation.classifiers import Scores
from safestream.moderation.policy import RoomPolicy
from safestream.moderation.pool import ModerationUnavailable
from safestream.moderation.replay import Replay
from safestream.store import repo
from safestream.web.deps import ApiError
from safestream.web.models.whatif import ReplayRequest
from safestream.web.routes.policy_common import FieldError

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["PAGE", "RESCORE_PAGE", "ReplayRun", "Window", "plan"]

PAGE = 500  # messages read per step without re-scoring
RESCORE_PAGE = 64  # per step with re-scoring (progress every few model calls)


@dataclass(frozen=True)
class Window:
    """Which stored messages a replay reads: `seq > after_seq`, `since <= ts < until`,
    at most `rows` of them (the newest, when the window holds more)."""

    since: float | None
    until: float | None
    last: int | None
    messages: int
    rows: int
    after_seq: int

    @property
    def truncated(self) -> bool:
        return self.messages > self.rows


async def plan(ctx: AppContext, room: str, data: ReplayRequest) -> Window:
    """The window a request names, within the settings' bounds.

    Raises:
        FieldError: 422 `window_too_large` naming `since_secs`, `since`, `last` or
            `rescore` (re-scoring more than REPLAY_RESCORE_MAX_MESSAGES).
    """
    settings = ctx.settings
    most = settings.replay_max_messages
    now = ctx.sanctions.now()
    if data.last is not None:
        if data.last > most:
            raise FieldError(
                422, "window_too_large", "last", f"at most {most} messages (REPLAY_MAX_MESSAGES)"
            )
        last = data.last
        after = await ctx.db.run(lambda s: repo.seq_before_last(s, room, last))
        count = await ctx.db.run(lambda s: repo.window_count(s, room, after_seq=after))
        window = Window(None, None, last, count, count, after)
    else:
        if data.since_secs is not None:
            field, since, until = "since_secs", now - data.since_secs, None
        else:
            assert data.since is not None  # the model requires one window
            field, since = "since", data.since.timestamp()
            until = data.until.timestamp() if data.until is not None else None
        longest = settings.replay_max_window_secs
        if (until if until is not None else now) - since > longest:
            raise FieldError(
                422,
                "window_too_large",
                field,
                f"a window is at most {longest:g} seconds (REPLAY_MAX_WINDOW_SECS)",
            )
        count = await ctx.db.run(lambda s: repo.window_count(s, room, since=since, until=until))
        after = 0
        if count > most:
            after = await ctx.db.run(
                lambda s: repo.seq_before_last(s, room, most, since=since, until=until)
            )
        window = Window(since, until, None, count, min(count, most), after)
    limit = settings.replay_rescore_max_messages
    if data.rescore and window.rows > limit:
        raise FieldError(
            422,
            "window_too_large",
            "rescore",
            f"re-scoring covers at most {limit} messages (REPLAY_RESCORE_MAX_MESSAGES); "
            f"this window holds {window.rows}: narrow it",
        )
    return window


class ReplayRun:
    """A replay in progress: `step` until it answers False, then read `replay`."""

    def __init__(
        self, ctx: AppContext, room: str, window: Window, policy: RoomPolicy, *, rescore: bool
    ) -> None:
        self._ctx = ctx
        self._room = room
        self.window = window
        self.rescore = rescore
        self.replay = Replay(policy)
        self.read = 0
        self._after = window.after_seq

    async def step(self) -> bool:
        """Read, (re-score) and decide one page; False when the window is done.

        A step cancelled midway (the deadline) adds nothing of its page.

        Raises:
            ApiError: 503 `moderation_unavailable` when re-scoring finds no model.
        """
        left = self.window.rows - self.read
        if left <= 0:
            return False
        window, room, after = self.window, self._room, self._after
        size = min(left, RESCORE_PAGE if self.rescore else PAGE)
        page = await self._ctx.db.run(
            lambda s: repo.window_messages(
                s, room, since=window.since, until=window.until, limit=size, after_seq=after
            )
        )
        if not page:
            return False
        scores: list[Scores | None] = [None] * len(page)
        if self.rescore:
            try:
                scores = await self._ctx.scorer.score([record.text for record in page])
            except ModerationUnavailable as exc:
                raise ApiError(
                    503, "moderation_unavailable", f"the model cannot re-score now: {exc}"
                ) from exc
        for record, rescored in zip(page, scores, strict=True):
            # A text the model fails on keeps its stored scores.
            self.replay.add(record, rescored)
        self.read += len(page)
        self._after = page[-1].seq
        return self.read < self.window.rows

"""Explainer: the actor that finds, by occlusion, the words behind held and blocked
messages the model could not explain itself.

Rooms' owners `tell_nowait` it an `Explain` for each held or blocked message whose
`why` has no driving words (`DecisionHooks`). Its mailbox drops the oldest request when
full: explanations are a help for moderators, never worth slowing a room. For each, it
runs `occlusion.explain` through the `BackgroundScorer` (live moderation first), stores
the result with the message and publishes a `why` event to the moderators' feed.

A room asks only once the message is stored; should the update still find no row (a
database that answers late), it is retried a few times.
When the model is unavailable the request is dropped and counted; a moderator can still
ask for that explanation later (`POST /api/admin/messages/<id>/explain`).

Example:
    ref.tell_nowait(Explain(message.id, "main", message.original, message.why))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import trio
from sqlalchemy.exc import SQLAlchemyError

from actors import Actor, OverflowPolicy
from safestream.moderation.background import BackgroundScorer
from safestream.moderation.feed import FeedNotifier
from safestream.moderation.occlusion import explain
from safestream.moderation.pool import ModerationUnavailable
from safestream.moderation.why import Why
from safestream.store import repo
from safestream.store.database import Database

__all__ = ["Explain", "Explainer"]

STORE_ATTEMPTS = 10
STORE_RETRY_SECS = 0.2


@dataclass(frozen=True)
class Explain:
    """Tell (or ask, for the new `why` dict): find the driving words of one message."""

    message_id: str
    room: str
    text: str
    why: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not self.message_id or not self.text:
            raise ValueError("Explain needs a message id and its text")


class Explainer(Actor):
    kind = "explainer"
    mailbox_capacity = 256
    overflow = OverflowPolicy.DROP_OLDEST

    def __init__(
        self, db: Database, scorer: BackgroundScorer, feed: FeedNotifier, *, max_words: int
    ) -> None:
        self._db = db
        self._scorer = scorer
        self._feed = feed
        self._max_words = max_words
        self._explained = 0
        self._unavailable = 0
        self._not_stored = 0

    async def handle(self, message: Any) -> Any:
        if isinstance(message, Explain):
            return await self._explain(message)
        return await super().handle(message)

    async def _explain(self, request: Explain) -> dict[str, Any] | None:
        try:
            why = Why.from_dict(request.why)
        except ValueError:
            return None  # nothing to explain from (a message decided before explanations)
        try:
            found = await explain(why, request.text, self._scorer.score, max_words=self._max_words)
        except ModerationUnavailable:
            self._unavailable += 1
            return None
        document = found.as_dict()
        if await self._store(request.message_id, document):
            self._explained += 1
            self._feed.notify(
                "why", {"id": request.message_id, "room": request.room, "why": document}
            )
        return document

    async def _store(self, message_id: str, document: dict[str, Any]) -> bool:
        for _attempt in range(STORE_ATTEMPTS):
            try:
                if await self._db.run(repo.set_message_why, message_id, document):
                    return True
            except SQLAlchemyError:
                break
            await trio.sleep(STORE_RETRY_SECS)  # no row yet: a late commit elsewhere
        self._not_stored += 1
        return False

    def introspect(self) -> dict[str, Any]:
        return {
            "explained": self._explained,
            "model_unavailable": self._unavailable,
            "not_stored": self._not_stored,
        }

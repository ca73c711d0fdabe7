"""`/api/admin/messages/<id>/why` and `/explain`: why a stored message was decided so.

`why` answers what was recorded with the decision: the rule that fired in the policy
version that applied ("threat 0.91 ≥ hold 0.80, policy v7"), the scores, the categories
over their toxic threshold, the blocked terms matched and the words that drove the
score. `explain` finds those words by occlusion when the model did not name them
(`drivers_by` is then "occlusion"), through the node's low-priority scorer, and stores
them with the message. Held and blocked messages are explained this way on their own
shortly after they are decided (the `Explainer` actor); `explain` is for any other
message, on demand.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from quart import Blueprint
from quart_schema import validate_response

from safestream.moderation.occlusion import explain
from safestream.moderation.pool import ModerationUnavailable
from safestream.moderation.why import Why
from safestream.store import repo
from safestream.store.records import MessageRecord, UserRecord
from safestream.web.deps import ApiError, documented
from safestream.web.models import whatif as models
from safestream.web.routes.policy_common import whys_of

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["why_routes"]

Decorator = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def why_routes(bp: Blueprint, ctx: AppContext, moderator: Decorator) -> None:
    """Add the why routes to the what-if blueprint; `moderator` checks the role."""

    async def message(message_id: str) -> MessageRecord:
        record = None
        if MESSAGE_ID.fullmatch(message_id):
            record = await ctx.db.run(repo.get_message, message_id)
        if record is None:
            raise ApiError(404, "message_not_found", "no such message")
        return record

    @bp.get("/messages/<message_id>/why")
    @documented("moderation", {404: ["message_not_found"]})
    @moderator
    @validate_response(models.MessageWhy)
    async def why(message_id: str, user: UserRecord) -> models.MessageWhy:
        """Why a message was decided as it was

        The rule that fired and its policy version, scores, flagged categories, blocked
        terms and driving words (null for a message decided by a policy version that is
        no longer known).
        """
        record = await message(message_id)
        return _answer(record, (await whys_of(ctx, [record])).get(record.id))

    @bp.post("/messages/<message_id>/explain")
    @documented("moderation", {404: ["message_not_found"], 503: ["moderation_unavailable"]})
    @moderator
    @validate_response(models.MessageWhy)
    async def explain_message(message_id: str, user: UserRecord) -> models.MessageWhy:
        """Find the words that drove a message's score (occlusion)

        Scores the message once without each of its words (at most OCCLUSION_MAX_WORDS,
        after live moderation) and keeps the words whose removal lowers the deciding
        category's score; stored with the message. A message whose model named its
        words is answered as it is.
        """
        record = await message(message_id)
        found = (await whys_of(ctx, [record])).get(record.id)
        if found is None:
            return _answer(record, None)
        try:
            why = Why.from_dict(found)
        except ValueError:
            return _answer(record, found)
        if why.by == "model" or not why.scores:
            return _answer(record, found)
        try:
            explained = await explain(
                why, record.text, ctx.scorer.score, max_words=ctx.settings.occlusion_max_words
            )
        except ModerationUnavailable as exc:
            raise ApiError(
                503, "moderation_unavailable", f"the model cannot score now: {exc}"
            ) from exc
        document = explained.as_dict()
        await ctx.db.run(repo.set_message_why, record.id, document)
        ctx.feed.notify("why", {"id": record.id, "room": record.room, "why": document})
        return _answer(record, document)


def _answer(record: MessageRecord, why: dict[str, Any] | None) -> models.MessageWhy:
    return models.MessageWhy(
        id=record.id,
        room=record.room,
        action=record.action,
        status=record.status,
        policy_version=record.policy_version,
        why=why,
    )

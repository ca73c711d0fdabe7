"""Gifts: `POST /api/gift` (original body `{"gift_id","amount"}`), the top-gifters board.

A gift is a chat-visible action by the logged-in user: banned and muted users cannot
send one, the sender is always the account (a `from` in the body is ignored), the amount
is 1..`MAX_AMOUNT`, each user may send `GIFTS_PER_MINUTE` (429 with Retry-After beyond),
and only to a room that is running (404 otherwise: a gift never creates a room).

Example:
    curl -X POST localhost:8000/api/gift -H "Authorization: Bearer $TOKEN" \
         -H 'Content-Type: application/json' -d '{"gift_id":2,"amount":5}'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio
from quart import Blueprint
from quart_schema import (
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from actors import ActorError
from safestream.chat.gifts import SendGift
from safestream.chat.limits import KeyedRateLimiter
from safestream.chat.room_supervisor import running_room
from safestream.store import repo
from safestream.store.records import UserRecord
from safestream.web.deps import ApiError, authenticated, documented, is_muted
from safestream.web.models import GiftRequest, TopQuery
from safestream.web.models.responses import GiftFrame, TopGifter, TopGifters

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["gift_blueprint"]


def gift_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("gifts", __name__)
    per_minute = ctx.settings.gifts_per_minute
    # Owned by this app's blueprint; LRU-bounded like the login limiter.
    limiter = KeyedRateLimiter(rate=per_minute / 60.0, burst=per_minute)

    @bp.post("/api/gift")
    @documented(
        "gifts",
        {
            403: ["banned", "muted"],
            404: ["room_not_found"],
            429: ["too_many_gifts"],
            503: ["unavailable"],
        },
    )
    @authenticated(ctx)
    @validate_request(GiftRequest)
    @document_response(GiftFrame)
    async def send_gift(data: GiftRequest, user: UserRecord) -> dict[str, Any]:
        """Send a gift (also broadcast to the room)

        The sender is the logged-in account. Banned or muted users are refused (403), a
        room that is not running is 404, and each user may send GIFTS_PER_MINUTE gifts
        (429 with Retry-After beyond).
        """
        if is_muted(ctx, user):
            raise ApiError(403, "muted", "you are muted")
        if running_room(ctx.system.registry, data.room) is None:
            raise ApiError(404, "room_not_found", f"room {data.room!r} is not running")
        wait = limiter.take(user.username, now=trio.current_time())
        if wait:
            raise ApiError(
                429, "too_many_gifts", f"too many gifts, retry in {wait:.0f} seconds", wait
            )
        gift = SendGift(
            room=data.room, sender=user.username, gift_id=data.gift_id, amount=data.amount
        )
        ref = ctx.system.lookup("gifts")
        if ref is None:
            raise ApiError(503, "unavailable", "gifts are restarting, try again")
        try:
            frame: dict[str, Any] = await ref.ask(gift, timeout=10.0)
        except (ActorError, TimeoutError) as exc:
            raise ApiError(503, "unavailable", "gift not sent, try again") from exc
        return frame

    @bp.get("/api/gifts/top")
    @documented("gifts")
    @validate_querystring(TopQuery)
    @validate_response(TopGifters)
    async def top(query_args: TopQuery) -> TopGifters:
        """Top gifters"""
        rows = await ctx.db.run(repo.top_gifters, query_args.limit, query_args.room)
        return TopGifters(top=[TopGifter(user=user, amount=amount) for user, amount in rows])

    return bp

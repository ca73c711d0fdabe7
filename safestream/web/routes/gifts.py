"""Gifts: `POST /api/gift` (original body `{"gift_id","amount"}`), the top-gifters board.

Example:
    curl -X POST localhost:8000/api/gift -H "Authorization: Bearer $TOKEN" \
         -H 'Content-Type: application/json' -d '{"gift_id":2,"amount":5}'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import Blueprint, request

from actors import ActorError
from safestream.accounts.auth import Role
from safestream.chat.gifts import SendGift
from safestream.chat.room_supervisor import InvalidRoom, validate_room_name
from safestream.store import repo
from safestream.web.deps import ApiError, current_user, int_arg, json_body

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["gift_blueprint"]


def gift_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("gifts", __name__)

    @bp.post("/api/gift")
    async def send_gift() -> dict[str, Any]:
        user = await current_user(ctx)
        body = await json_body()
        sender = body.get("from", user.username)
        if sender != user.username and not Role(user.role).allows(Role.MODERATOR):
            raise ApiError(403, "forbidden", "you can only send gifts as yourself")
        try:
            gift = SendGift(
                room=validate_room_name(str(body.get("room", "main"))),
                sender=str(sender),
                gift_id=_int(body, "gift_id"),
                amount=_int(body, "amount", 1),
            )
        except (ValueError, InvalidRoom) as exc:
            raise ApiError(422, "invalid_gift", str(exc)) from exc
        ref = ctx.system.lookup("gifts")
        if ref is None:
            raise ApiError(503, "unavailable", "gifts are restarting, try again")
        try:
            frame: dict[str, Any] = await ref.ask(gift, timeout=10.0)
        except (ActorError, TimeoutError) as exc:
            raise ApiError(503, "unavailable", "gift not sent, try again") from exc
        return frame

    @bp.get("/api/gifts/top")
    async def top() -> dict[str, Any]:
        room = request.args.get("room") or None
        rows = await ctx.db.run(repo.top_gifters, int_arg("limit", 10, 1, 100), room)
        return {"top": [{"user": user, "amount": amount} for user, amount in rows]}

    return bp


def _int(body: dict[str, Any], key: str, default: int | None = None) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    return value

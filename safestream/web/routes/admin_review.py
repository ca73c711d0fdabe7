"""`/api/admin/held`, `/api/admin/messages`: the hold queue and moderation of messages.

Approve, reject and delete are compare-and-set status changes written with their audit
row in one transaction (`repo.update_message_status`); the room is told afterwards
(approve delivers the message, delete removes it from viewers' screens and history).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from quart import Blueprint, request
from quart_schema import document_request, validate_querystring, validate_response

from actors import ActorError
from safestream.chat.frames import ChatMessage, chat_frame, moderator_view
from safestream.chat.room_messages import DeleteMessage, DeliverApproved
from safestream.chat.room_supervisor import running_room
from safestream.store import repo
from safestream.store.errors import InvalidTransition
from safestream.store.records import MessageRecord, MessageStatus, UserRecord
from safestream.web.deps import ApiError, documented, load_body
from safestream.web.models import HeldQuery, MessagesQuery, ReasonRequest
from safestream.web.models import responses as out
from safestream.web.routes.model import label_decision
from safestream.web.routes.policy_common import whys_of

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["review_routes"]

Decorator = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def review_routes(bp: Blueprint, ctx: AppContext, moderator: Decorator) -> None:
    """Add the review routes to the admin blueprint; `moderator` checks the role."""

    @bp.post("/messages/<message_id>/delete")
    @documented(
        "moderation",
        {404: ["message_not_found"], 409: ["invalid_transition"]},
        optional_body=True,
    )
    @moderator
    @document_request(ReasonRequest)
    @validate_response(out.MessageStatus)
    async def delete(message_id: str, user: UserRecord) -> out.MessageStatus:
        """Delete a message

        Viewers get `deleted`; it is gone from history. The body is optional.
        """
        body = load_body(ReasonRequest, await request.get_json()) if request.is_json else None
        reason = body.reason.strip() if body else ""
        record = await _transition(ctx, message_id, MessageStatus.DELETED, user, reason)
        await _tell_room(ctx, record.room, DeleteMessage(record.id, user.username))
        await label_decision(ctx, record, user.username, "delete")
        ctx.feed.notify("action", {"actor": user.username, "action": "delete", "id": record.id})
        return out.MessageStatus(status="deleted", id=record.id)

    @bp.get("/held")
    @documented("moderation")
    @moderator
    @validate_querystring(HeldQuery)
    @validate_response(out.HeldList)
    async def held(query_args: HeldQuery, user: UserRecord) -> out.HeldList:
        """The hold queue, oldest first"""
        records = await ctx.db.run(repo.held_messages, query_args.room, query_args.limit)
        whys = await whys_of(ctx, records)
        return out.HeldList(held=[_message(r, whys.get(r.id)) for r in records])

    @bp.post("/held/<message_id>/approve")
    @documented("moderation", {404: ["message_not_found"], 409: ["invalid_transition"]})
    @moderator
    @validate_response(out.MessageStatus)
    async def approve(message_id: str, user: UserRecord) -> out.MessageStatus:
        """Approve a held message (delivers it)"""
        record = await _transition(ctx, message_id, MessageStatus.VISIBLE, user, None)
        approved = dataclasses.replace(
            ChatMessage.from_record(record), action="allow", reason=f"approved by {user.username}"
        )
        await _tell_room(ctx, record.room, DeliverApproved(approved))
        await label_decision(ctx, record, user.username, "approve")
        ctx.feed.notify("action", {"actor": user.username, "action": "approve", "id": record.id})
        return out.MessageStatus(status="approved", id=record.id)

    @bp.post("/held/<message_id>/reject")
    @documented("moderation", {404: ["message_not_found"], 409: ["invalid_transition"]})
    @moderator
    @validate_response(out.MessageStatus)
    async def reject(message_id: str, user: UserRecord) -> out.MessageStatus:
        """Reject a held message"""
        record = await _transition(ctx, message_id, MessageStatus.REJECTED, user, None)
        ctx.feed.notify("action", {"actor": user.username, "action": "reject", "id": record.id})
        return out.MessageStatus(status="rejected", id=record.id)

    @bp.get("/messages")
    @documented("moderation")
    @moderator
    @validate_querystring(MessagesQuery)
    @validate_response(out.MessageList)
    async def messages(query_args: MessagesQuery, user: UserRecord) -> out.MessageList:
        """Recent messages with scores and status, newest first"""
        q = query_args
        records = await ctx.db.run(
            repo.recent_messages,
            q.room,
            q.user,
            q.toxic_only in ("1", "true", "yes"),
            q.action,
            q.limit,
        )
        whys = await whys_of(ctx, records)
        return out.MessageList(messages=[_message(r, whys.get(r.id)) for r in records])


def _message(record: MessageRecord, why: dict[str, Any] | None) -> out.AdminMessage:
    message = ChatMessage.from_record(record)
    frame = moderator_view(chat_frame(message), message)
    frame.update(
        status=record.status, original=record.text, triggers=list(record.triggers), why=why
    )
    return out.AdminMessage.model_validate(frame)


async def _transition(
    ctx: AppContext, message_id: str, status: str, mod: UserRecord, reason: str | None
) -> MessageRecord:
    if not MESSAGE_ID.fullmatch(message_id):
        # Ids are short and plain; anything else (a NUL, which PostgreSQL refuses) is
        # no message, answered before it reaches the database.
        raise ApiError(404, "message_not_found", "no such message")
    try:
        return await ctx.db.run(
            lambda s: repo.update_message_status(s, message_id, status, mod.username, reason=reason)
        )
    except LookupError as exc:
        raise ApiError(404, "message_not_found", "no such message") from exc
    except InvalidTransition as exc:
        raise ApiError(409, "invalid_transition", str(exc)) from exc


async def _tell_room(ctx: AppContext, room: str, message: Any) -> None:
    ref = running_room(ctx.system.registry, room)
    if ref is None:
        return  # a room that is not running reloads history from the database
    try:
        await ref.ask(message, timeout=5.0)
    except ActorError:
        pass  # stopping right now: it reloads history from the database when started

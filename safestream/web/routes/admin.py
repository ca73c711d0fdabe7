"""`/api/admin/*`: moderator tools. Every route needs the moderator (or admin) role.

Request bodies keep the original's shape (`{"username": ...}`; `user` is accepted as an
alias). Every action is written to the audit log (who, whom, when, why) before it is
answered; `GET /api/admin/audit` reads it back.

Example:
    curl -X POST localhost:8000/api/admin/mute -H "Authorization: Bearer $MOD" \
         -H 'Content-Type: application/json' -d '{"username":"troll","duration_secs":600}'
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quart import Blueprint, request

from actors import ActorError, Crash
from safestream.accounts.auth import Role
from safestream.chat.frames import ChatMessage, chat_frame, notice_frame
from safestream.chat.protocol import CloseCode
from safestream.chat.room_messages import Broadcast, CloseUser, DeleteMessage, DeliverApproved
from safestream.chat.room_supervisor import running_room, running_rooms
from safestream.store import repo
from safestream.store.errors import InvalidTransition
from safestream.store.records import ActionRow, MessageRecord, MessageStatus, UserRecord
from safestream.store.writer import Persist
from safestream.web.deps import ApiError, current_user, int_arg, json_body
from safestream.web.routes.admin_events import events_routes
from safestream.web.routes.admin_policy import policy_routes
from safestream.web.routes.model import label_decision

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["admin_blueprint"]

DEFAULT_MUTE_SECS = 300.0  # the original's five minutes
MAX_SANCTION_SECS = 365 * 24 * 3600.0
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
MAX_REASON = 500


def admin_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix="/api/admin")

    async def moderator() -> UserRecord:
        return await current_user(ctx, Role.MODERATOR)

    async def audit(actor: str, action: str, target: str | None, **fields: Any) -> None:
        row = ActionRow(actor=actor, action=action, target=target, **fields)
        await ctx.address("store").ask(Persist(actions=(row,)), timeout=10.0)
        ctx.feed.notify("action", {"actor": actor, "action": action, "target": target, **fields})

    async def close_everywhere(user: str, code: int, reason: str) -> int:
        closed = 0
        for _name, room in running_rooms(ctx.system.registry):
            try:
                closed += int(await room.ask(CloseUser(user, code, reason), timeout=5.0))
            except ActorError:
                continue  # a room stopping right now closes its members anyway
        return closed

    @bp.post("/kick")
    async def kick() -> dict[str, Any]:
        mod = await moderator()
        body = await json_body()
        target = await _target(ctx, body, mod)
        reason = _reason(body)
        closed = await close_everywhere(target.username, CloseCode.KICKED, f"kicked: {reason}")
        await audit(mod.username, "kick", target.username, reason=reason)
        return {"status": "kicked", "username": target.username, "connections": closed}

    @bp.post("/mute")
    async def mute() -> dict[str, Any]:
        mod = await moderator()
        body = await json_body()
        target = await _target(ctx, body, mod)
        seconds = _duration(body, DEFAULT_MUTE_SECS)
        assert seconds is not None
        until = ctx.sanctions.mute(target.username, seconds)
        stored = datetime.fromtimestamp(until, UTC)
        await ctx.db.run(repo.set_mute, target.username, stored)
        for name, room in running_rooms(ctx.system.registry):
            notice = notice_frame(name, "timeout", user=target.username, until=until)
            try:
                room.tell_nowait(Broadcast(notice))
            except ActorError:
                pass  # the mute holds anyway; only the notice is lost in a busy room
        reason = _reason(body)
        await audit(mod.username, "mute", target.username, reason=reason, duration_secs=seconds)
        await label_decision(ctx, body.get("message_id"), mod.username, "timeout")
        return {"status": "muted", "username": target.username, "until": until}

    @bp.post("/unmute")
    async def unmute() -> dict[str, Any]:
        mod = await moderator()
        target = await _target(ctx, await json_body(), mod)
        ctx.sanctions.unmute(target.username)
        await ctx.db.run(repo.set_mute, target.username, None)
        await audit(mod.username, "unmute", target.username)
        return {"status": "unmuted", "username": target.username}

    @bp.post("/ban")
    async def ban() -> dict[str, Any]:
        mod = await moderator()
        body = await json_body()
        target = await _target(ctx, body, mod)
        seconds = _duration(body, None)
        reason = _reason(body)
        now = ctx.sanctions.now()
        until = FOREVER if seconds is None else datetime.fromtimestamp(now + seconds, UTC)
        await ctx.db.run(repo.set_ban, target.username, until, reason)
        ctx.sanctions.ban(target.username, until.timestamp())
        closed = await close_everywhere(target.username, CloseCode.BANNED, "banned")
        await audit(mod.username, "ban", target.username, reason=reason, duration_secs=seconds)
        return {
            "status": "banned",
            "username": target.username,
            "until": None if seconds is None else until.isoformat(),
            "connections": closed,
        }

    @bp.post("/unban")
    async def unban() -> dict[str, Any]:
        mod = await moderator()
        body = await json_body()
        target = await _target(ctx, body, mod)
        await ctx.db.run(repo.set_ban, target.username, None, None)
        ctx.sanctions.unban(target.username)
        await audit(mod.username, "unban", target.username, reason=_reason(body))
        return {"status": "unbanned", "username": target.username}

    @bp.post("/reset_metrics")
    async def reset_metrics() -> dict[str, Any]:
        mod = await moderator()
        ctx.metrics.reset()
        await audit(mod.username, "reset_metrics", None)
        return {"status": "metrics reset"}

    @bp.post("/messages/<message_id>/delete")
    async def delete(message_id: str) -> dict[str, Any]:
        mod = await moderator()
        body = await json_body() if request.is_json else {}
        record = await _transition(ctx, message_id, MessageStatus.DELETED, mod, _reason(body))
        await _tell_room(ctx, record.room, DeleteMessage(record.id, mod.username))
        await label_decision(ctx, record, mod.username, "delete")
        ctx.feed.notify("action", {"actor": mod.username, "action": "delete", "id": record.id})
        return {"status": "deleted", "id": record.id}

    @bp.get("/held")
    async def held() -> dict[str, Any]:
        await moderator()
        room = request.args.get("room") or None
        records = await ctx.db.run(repo.held_messages, room, int_arg("limit", 100, 1, 500))
        return {"held": [_message_json(r) for r in records]}

    @bp.post("/held/<message_id>/approve")
    async def approve(message_id: str) -> dict[str, Any]:
        mod = await moderator()
        record = await _transition(ctx, message_id, MessageStatus.VISIBLE, mod, None)
        approved = dataclasses.replace(
            ChatMessage.from_record(record), action="allow", reason=f"approved by {mod.username}"
        )
        await _tell_room(ctx, record.room, DeliverApproved(approved))
        await label_decision(ctx, record, mod.username, "approve")
        ctx.feed.notify("action", {"actor": mod.username, "action": "approve", "id": record.id})
        return {"status": "approved", "id": record.id}

    @bp.post("/held/<message_id>/reject")
    async def reject(message_id: str) -> dict[str, Any]:
        mod = await moderator()
        record = await _transition(ctx, message_id, MessageStatus.REJECTED, mod, None)
        ctx.feed.notify("action", {"actor": mod.username, "action": "reject", "id": record.id})
        return {"status": "rejected", "id": record.id}

    @bp.get("/messages")
    async def messages() -> dict[str, Any]:
        await moderator()
        args = request.args
        records = await ctx.db.run(
            repo.recent_messages,
            args.get("room") or None,
            args.get("user") or None,
            args.get("toxic_only", "").lower() in ("1", "true", "yes"),
            args.get("action") or None,
            int_arg("limit", 100, 1, 1000),
        )
        return {"messages": [_message_json(r) for r in records]}

    @bp.get("/audit")
    async def audit_log() -> dict[str, Any]:
        await moderator()
        args = request.args
        rows = await ctx.db.run(
            repo.audit_log,
            int_arg("limit", 100, 1, 1000),
            args.get("actor") or None,
            args.get("target") or None,
        )
        return {
            "actions": [
                {
                    "id": row.id,
                    "actor": row.actor,
                    "action": row.action,
                    "target": row.target,
                    "room": row.room,
                    "reason": row.reason,
                    "duration_secs": row.duration_secs,
                    "detail": dict(row.detail) if row.detail else None,
                    "created_at": row.created_at.isoformat(),
                }
                for row in rows
            ]
        }

    @bp.post("/actors/crash")
    async def crash_actor() -> dict[str, Any]:
        # Fault injection, so engineers can watch a supervisor restart an actor.
        admin = await current_user(ctx, Role.ADMIN)
        if not ctx.settings.allows_fault_injection:
            raise ApiError(404, "not_found", "fault injection is off (FAULT_INJECTION=1)")
        body = await json_body()
        path = body.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApiError(
                422, "invalid_request", "path must be an actor path like /safestream/gifts"
            )
        ref = ctx.system.find(path)
        if ref is None:
            raise ApiError(404, "actor_not_found", f"no running actor at {path[:100]!r}")
        try:
            ref.tell_nowait(Crash(f"crash requested by {admin.username}"))
        except ActorError as exc:
            raise ApiError(409, "busy", f"could not reach the actor: {exc}") from exc
        await audit(admin.username, "crash_actor", None, detail={"path": path})
        return {"status": "crash sent", "path": path}

    events_routes(bp, ctx, moderator)
    policy_routes(bp, ctx, moderator, audit)
    return bp


def _message_json(record: MessageRecord) -> dict[str, Any]:
    frame = chat_frame(ChatMessage.from_record(record))
    frame.update(status=record.status, original=record.text, triggers=list(record.triggers))
    return frame


async def _target(ctx: AppContext, body: dict[str, Any], mod: UserRecord) -> UserRecord:
    name = body.get("username", body.get("user"))
    if not isinstance(name, str) or not name:
        raise ApiError(422, "invalid_request", "username is required")
    user = await ctx.db.run(repo.get_user, name)
    if user is None:
        raise ApiError(404, "user_not_found", f"no user {name[:60]!r}")
    if user.username == mod.username:
        raise ApiError(422, "invalid_request", "moderators cannot act on themselves")
    if Role(user.role).allows(Role(mod.role)) and Role(mod.role) is not Role.ADMIN:
        raise ApiError(403, "forbidden", "only an admin can act on a moderator or admin")
    return user


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(422, "invalid_request", "reason must be a string")
    return reason.strip()[:MAX_REASON]


def _duration(body: dict[str, Any], default: float | None) -> float | None:
    raw = body.get("duration_secs", body.get("duration"))
    if raw is None and "minutes" in body:
        raw = body["minutes"] * 60 if isinstance(body["minutes"], int | float) else "bad"
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ApiError(422, "invalid_request", "duration_secs must be a number")
    if not 1 <= raw <= MAX_SANCTION_SECS:
        raise ApiError(422, "invalid_request", f"duration_secs must be 1..{int(MAX_SANCTION_SECS)}")
    return float(raw)


async def _transition(
    ctx: AppContext, message_id: str, status: str, mod: UserRecord, reason: str | None
) -> MessageRecord:
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

"""`/api/admin/*`: moderator tools. Every route needs the moderator (or admin) role.

Request bodies keep the original's shape (`{"username": ...}`; `user` is accepted as an
alias) and are validated whole before anything happens. Each action and its audit row
are one database transaction (`applied_and_audited`): when the row cannot be written the
action is not applied either (503 `not_saved`). Only after the commit is this node's
in-memory state changed and are sockets closed or notices sent. `GET /api/admin/audit`
reads the log back.

The review routes (hold queue, delete, approve, reject) are in `admin_review`, the room
policy in `admin_policy`, the live feed in `admin_events`.

Example:
    curl -X POST localhost:8000/api/admin/mute -H "Authorization: Bearer $MOD" \
         -H 'Content-Type: application/json' -d '{"username":"troll","duration_secs":600}'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quart import Blueprint
from quart_schema import (
    validate_querystring,
    validate_request,
    validate_response,
)

from actors import ActorError, Crash
from safestream.accounts.auth import Role
from safestream.chat.frames import notice_frame
from safestream.chat.protocol import CloseCode
from safestream.chat.room_messages import Broadcast, CloseUser
from safestream.chat.room_supervisor import running_rooms
from safestream.cluster.agent import Control
from safestream.store import repo
from safestream.store.records import ActionRow, UserRecord
from safestream.web.deps import ApiError, authenticated, documented
from safestream.web.models import (
    AuditQuery,
    BanRequest,
    CrashRequest,
    MuteRequest,
    TargetRequest,
)
from safestream.web.models import responses as out
from safestream.web.routes.admin_events import events_routes
from safestream.web.routes.admin_policy import policy_routes
from safestream.web.routes.admin_review import review_routes
from safestream.web.routes.audited import applied_and_audited
from safestream.web.routes.model import label_decision

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["admin_blueprint"]

FOREVER = datetime(9999, 1, 1, tzinfo=UTC)

TARGET_ERRORS: Mapping[int, Sequence[str]] = {
    403: ["forbidden"],
    404: ["user_not_found"],
    422: ["invalid_request"],
    503: ["not_saved"],
}


def admin_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix="/api/admin")
    moderator = authenticated(ctx, Role.MODERATOR)

    async def close_everywhere(user: str, code: int, reason: str) -> int:
        """Close the user's sockets here, and tell the other nodes to close theirs."""
        ctx.cluster.announce(Control("close_user", user, {"code": code, "reason": reason}))
        closed = 0
        for _name, room in running_rooms(ctx.system.registry):
            try:
                closed += int(await room.ask(CloseUser(user, code, reason), timeout=5.0))
            except ActorError:
                continue  # a room stopping right now closes its members anyway
        return closed

    def row(mod: UserRecord, action: str, target: str | None, **fields: Any) -> ActionRow:
        return ActionRow(actor=mod.username, action=action, target=target, **fields)

    @bp.post("/kick")
    @documented("moderation", TARGET_ERRORS)
    @moderator
    @validate_request(TargetRequest)
    @validate_response(out.KickResult)
    async def kick(data: TargetRequest, user: UserRecord) -> out.KickResult:
        """Kick a user

        Closes the user's sockets with 4000. A moderator cannot act on a moderator or
        admin, nobody on themselves.
        """
        target = await _target(ctx, data.username, user)
        reason = data.reason.strip()
        await applied_and_audited(ctx, None, row(user, "kick", target.username, reason=reason))
        closed = await close_everywhere(target.username, CloseCode.KICKED, f"kicked: {reason}")
        return out.KickResult(username=target.username, connections=closed)

    @bp.post("/mute")
    @documented("moderation", TARGET_ERRORS)
    @moderator
    @validate_request(MuteRequest)
    @validate_response(out.MuteResult)
    async def mute(data: MuteRequest, user: UserRecord) -> out.MuteResult:
        """Mute a user

        Refuses their messages and gifts until then; rooms get a `timeout` frame.
        """
        target = await _target(ctx, data.username, user)
        seconds = data.seconds
        until = ctx.sanctions.now() + seconds
        stored = datetime.fromtimestamp(until, UTC)
        audit = row(
            user, "mute", target.username, reason=data.reason.strip(), duration_secs=seconds
        )
        await applied_and_audited(ctx, lambda s: repo.set_mute(s, target.username, stored), audit)
        ctx.sanctions.mute_until(target.username, until)
        ctx.cluster.announce(Control("mute", target.username, {"until": until}))
        for name, room in running_rooms(ctx.system.registry):
            notice = notice_frame(name, "timeout", user=target.username, until=until)
            try:
                room.tell_nowait(Broadcast(notice))
            except ActorError:
                pass  # the mute holds anyway; only the notice is lost in a busy room
        await label_decision(ctx, data.message_id, user.username, "timeout")
        return out.MuteResult(username=target.username, until=until)

    @bp.post("/unmute")
    @documented("moderation", TARGET_ERRORS)
    @moderator
    @validate_request(TargetRequest)
    @validate_response(out.UserStatus)
    async def unmute(data: TargetRequest, user: UserRecord) -> out.UserStatus:
        """Unmute a user"""
        target = await _target(ctx, data.username, user)
        audit = row(user, "unmute", target.username, reason=data.reason.strip())
        await applied_and_audited(ctx, lambda s: repo.set_mute(s, target.username, None), audit)
        ctx.sanctions.unmute(target.username)
        ctx.cluster.announce(Control("unmute", target.username))
        return out.UserStatus(status="unmuted", username=target.username)

    @bp.post("/ban")
    @documented("moderation", TARGET_ERRORS)
    @moderator
    @validate_request(BanRequest)
    @validate_response(out.BanResult)
    async def ban(data: BanRequest, user: UserRecord) -> out.BanResult:
        """Ban a user

        Stored with the user; sockets closed with 4003; reconnects and every other
        action refused. Without `duration_secs` the ban is for ever.
        """
        target = await _target(ctx, data.username, user)
        seconds = data.duration_secs
        reason = data.reason.strip()
        now = ctx.sanctions.now()
        until = FOREVER if seconds is None else datetime.fromtimestamp(now + seconds, UTC)
        audit = row(user, "ban", target.username, reason=reason, duration_secs=seconds)
        await applied_and_audited(
            ctx, lambda s: repo.set_ban(s, target.username, until, reason), audit
        )
        ctx.sanctions.ban(target.username, until.timestamp())
        ctx.cluster.announce(Control("ban", target.username, {"until": until.timestamp()}))
        closed = await close_everywhere(target.username, CloseCode.BANNED, "banned")
        return out.BanResult(
            username=target.username,
            until=None if seconds is None else until,
            connections=closed,
        )

    @bp.post("/unban")
    @documented("moderation", TARGET_ERRORS)
    @moderator
    @validate_request(TargetRequest)
    @validate_response(out.UserStatus)
    async def unban(data: TargetRequest, user: UserRecord) -> out.UserStatus:
        """Lift a ban"""
        target = await _target(ctx, data.username, user)
        audit = row(user, "unban", target.username, reason=data.reason.strip())
        await applied_and_audited(
            ctx, lambda s: repo.set_ban(s, target.username, None, None), audit
        )
        ctx.sanctions.unban(target.username)
        ctx.cluster.announce(Control("unban", target.username))
        return out.UserStatus(status="unbanned", username=target.username)

    @bp.post("/reset_metrics")
    @documented("moderation", {503: ["not_saved"]})
    @moderator
    @validate_response(out.Status)
    async def reset_metrics(user: UserRecord) -> out.Status:
        """Zero the counters"""
        await applied_and_audited(ctx, None, row(user, "reset_metrics", None))
        ctx.metrics.reset()
        ctx.cluster.announce(Control("reset_metrics"))
        return out.Status(status="metrics reset")

    @bp.get("/audit")
    @documented("moderation")
    @moderator
    @validate_querystring(AuditQuery)
    @validate_response(out.AuditLog)
    async def audit_log(query_args: AuditQuery, user: UserRecord) -> out.AuditLog:
        """The audit log: who did what to whom, when and why"""
        q = query_args
        rows = await ctx.db.run(repo.audit_log, q.limit, q.actor, q.target)
        return out.AuditLog(
            actions=[
                out.AuditEntry(
                    id=r.id,
                    actor=r.actor,
                    action=r.action,
                    target=r.target,
                    room=r.room,
                    reason=r.reason,
                    duration_secs=r.duration_secs,
                    detail=dict(r.detail) if r.detail else None,
                    created_at=r.created_at,
                )
                for r in rows
            ]
        )

    @bp.post("/actors/crash")
    @documented(
        "monitoring", {404: ["not_found", "actor_not_found"], 409: ["busy"], 503: ["not_saved"]}
    )
    @authenticated(ctx, Role.ADMIN)
    @validate_request(CrashRequest)
    @validate_response(out.CrashResult)
    async def crash_actor(data: CrashRequest, user: UserRecord) -> out.CrashResult:
        """Crash an actor (fault injection)

        Lets engineers watch a supervisor restart an actor. Only in demo mode or with
        FAULT_INJECTION=1 (else 404 `not_found`). The request is audited before it is sent.
        """
        if not ctx.settings.allows_fault_injection:
            raise ApiError(404, "not_found", "fault injection is off (FAULT_INJECTION=1)")
        ref = ctx.system.find(data.path)
        if ref is None:
            raise ApiError(404, "actor_not_found", f"no running actor at {data.path[:100]!r}")
        audit = row(user, "crash_actor", None, detail={"path": data.path})
        await applied_and_audited(ctx, None, audit)
        try:
            ref.tell_nowait(Crash(f"crash requested by {user.username}"))
        except ActorError as exc:
            raise ApiError(409, "busy", "the actor's mailbox is full or closed") from exc
        return out.CrashResult(status="crash sent", path=data.path)

    events_routes(bp, ctx, moderator)
    policy_routes(bp, ctx, moderator)
    review_routes(bp, ctx, moderator)
    return bp


async def _target(ctx: AppContext, name: str, mod: UserRecord) -> UserRecord:
    user = await ctx.db.run(repo.get_user, name)
    if user is None:
        raise ApiError(404, "user_not_found", f"no user {name[:60]!r}")
    if user.username == mod.username:
        raise ApiError(422, "invalid_request", "moderators cannot act on themselves")
    if Role(user.role).allows(Role(mod.role)) and Role(mod.role) is not Role.ADMIN:
        raise ApiError(403, "forbidden", "only an admin can act on a moderator or admin")
    return user

"""The what-if routes: replay a candidate policy on past chat, a room's policy history
and rollback; the shadow and "why" routes are added from their own modules.

Every route needs the moderator role and names a room that exists (404
`room_not_found` otherwise; these routes never create a room). A replay is bounded in
time window (REPLAY_MAX_WINDOW_SECS), rows (REPLAY_MAX_MESSAGES, the newest kept) and
running time (REPLAY_TIMEOUT_SECS: the answer says `complete: false`), at most
REPLAY_CONCURRENCY at once per node (429 `busy`), and is audited (`replay`) when its
first page is asked for. `/replay/stream` runs the same replay as Server-Sent Events:
`progress` after each page, then `result` (or `error`).

Example:
    curl -X POST localhost:8000/api/admin/rooms/main/replay -H "Authorization: Bearer $MOD" \
         -H 'Content-Type: application/json' \
         -d '{"policy": {"bands": [{"category": "toxicity", "min_score": 0.5, "action": "hold"}]},
              "since_secs": 3600}'
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio
from quart import Blueprint, Response
from quart_schema import validate_querystring, validate_request, validate_response

from safestream.accounts.auth import Role
from safestream.moderation.policy import RoomPolicy
from safestream.store import repo
from safestream.store.errors import StalePolicyVersion
from safestream.store.records import ActionRow, RoomRecord, UserRecord
from safestream.web.deps import ApiError, authenticated, documented, event_stream, room_name
from safestream.web.models import responses as out
from safestream.web.models import whatif as models
from safestream.web.replay_run import ReplayRun, Window, plan
from safestream.web.routes.audited import applied_and_audited
from safestream.web.routes.message_why import why_routes
from safestream.web.routes.policy_common import (
    FieldError,
    apply_policy,
    audited,
    candidate,
    current_version,
    existing_room,
    stored_version,
)
from safestream.web.routes.policy_shadow import shadow_routes

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["whatif_blueprint"]

REPLAY_ERRORS = {
    404: ["room_not_found", "version_not_found"],
    422: ["invalid_room", "invalid_policy", "window_too_large"],
    429: ["busy"],
    503: ["not_saved", "moderation_unavailable"],
}


def whatif_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("whatif", __name__, url_prefix="/api/admin")
    moderator = authenticated(ctx, Role.MODERATOR)

    async def prepared(
        room: str, data: models.ReplayRequest, user: UserRecord, *, audit: bool
    ) -> tuple[RoomRecord, RoomPolicy, str, Window]:
        record = await existing_room(ctx, room_name(room))
        policy, label = await candidate(ctx, record, data)
        window = await plan(ctx, record.name, data)
        if audit:
            detail = {
                "candidate": label,
                "window": {"since": window.since, "until": window.until, "last": window.last},
                "messages": window.rows,
                "rescore": data.rescore,
            }
            row = ActionRow(actor=user.username, action="replay", room=record.name, detail=detail)
            await applied_and_audited(ctx, None, row)
        return record, policy, label, window

    @bp.post("/rooms/<room>/replay")
    @documented("policy", REPLAY_ERRORS)
    @moderator
    @validate_request(models.ReplayRequest)
    @validate_querystring(models.ReplayPage)
    @validate_response(models.ReplayResult)
    async def replay(
        room: str, data: models.ReplayRequest, query_args: models.ReplayPage, user: UserRecord
    ) -> models.ReplayResult:
        """Replay a candidate policy on the room's past messages

        What the candidate (the editor's unsaved values, or a stored version) would have
        done with each stored message of the window, compared with what happened: counts
        per action before/after, the messages whose action changes (paginated with
        offset/limit), the users it would have timed out. Decided from the stored scores
        (cheap), or with `rescore` from new scores by the model the pool runs now (live
        moderation goes first). Nothing is changed; the replay is audited.
        """
        q = query_args
        record, policy, label, window = await prepared(room, data, user, audit=q.offset == 0)
        try:
            ctx.replays.acquire_nowait()
        except trio.WouldBlock:
            raise ApiError(429, "busy", "too many replays at once; retry", retry_after=5) from None
        try:
            run = ReplayRun(ctx, record.name, window, policy, rescore=data.rescore)
            complete = await _run(ctx, run)
        finally:
            ctx.replays.release()
        return _result(record.name, label, policy, run, complete, q.offset, q.limit)

    @bp.post("/rooms/<room>/replay/stream")
    @documented("policy", REPLAY_ERRORS, content="text/event-stream")
    @moderator
    @validate_request(models.ReplayRequest)
    @validate_querystring(models.ReplayPage)
    async def replay_stream(
        room: str, data: models.ReplayRequest, query_args: models.ReplayPage, user: UserRecord
    ) -> Response:
        """Replay a candidate policy, with progress (Server-Sent Events)

        The same replay as `POST .../replay`: `progress` events (`read`, `total`) after
        each page of messages, then one `result` event (the replay's answer), or `error`.
        Refusals before the replay starts are ordinary JSON errors.
        """
        q = query_args
        record, policy, label, window = await prepared(room, data, user, audit=True)
        if ctx.replays.available_tokens < 1:
            raise ApiError(429, "busy", "too many replays at once; retry", retry_after=5)

        async def events() -> AsyncIterator[bytes]:
            run = ReplayRun(ctx, record.name, window, policy, rescore=data.rescore)
            yield _sse("progress", {"read": 0, "total": window.rows})
            async with ctx.replays:
                deadline = trio.current_time() + ctx.settings.replay_timeout_secs
                complete = True
                try:
                    while True:
                        with trio.move_on_at(deadline) as scope:
                            more = await run.step()
                        if scope.cancelled_caught:
                            complete = False
                            break
                        yield _sse("progress", {"read": run.read, "total": window.rows})
                        if not more:
                            break
                except ApiError as exc:
                    yield _sse("error", exc.body())
                    return
            result = _result(record.name, label, policy, run, complete, q.offset, q.limit)
            yield _sse("result", result.model_dump(mode="json"))

        return event_stream(events())

    @bp.get("/rooms/<room>/policy/versions")
    @documented("policy", {404: ["room_not_found"], 422: ["invalid_room"]})
    @moderator
    @validate_querystring(models.VersionsQuery)
    @validate_response(models.PolicyVersions)
    async def policy_versions(
        room: str, query_args: models.VersionsQuery, user: UserRecord
    ) -> models.PolicyVersions:
        """A room's saved policies, newest first

        Every version ever saved (edits, rollbacks, promoted shadows) with who saved it
        and how; version 1 is the default policy when none was saved under it.
        """
        record = await existing_room(ctx, room_name(room))
        q = query_args
        current = current_version(ctx, record).version
        rows = await ctx.db.run(repo.policy_versions, record.name, q.limit, q.before)
        entries = [
            models.PolicyVersionEntry(
                version=r.version,
                created_at=r.created_at,
                created_by=r.created_by,
                source=r.source,
                current=r.version == current,
                policy={**r.policy, "version": r.version},
            )
            for r in rows
        ]
        listed = {entry.version for entry in entries}
        if 1 not in listed and len(entries) < q.limit and (q.before is None or q.before > 1):
            default = await stored_version(ctx, record, 1)
            entries.append(
                models.PolicyVersionEntry(
                    version=1,
                    created_at=None,
                    created_by=None,
                    source="default",
                    current=current == 1,
                    policy=default.to_dict(),
                )
            )
        return models.PolicyVersions(room=record.name, current=current, versions=entries)

    @bp.post("/rooms/<room>/policy/rollback")
    @documented(
        "policy",
        {
            404: ["room_not_found", "version_not_found"],
            409: ["stale_policy", "already_current"],
            422: ["invalid_room"],
            503: ["not_saved"],
        },
    )
    @moderator
    @validate_request(models.RollbackRequest)
    @validate_response(out.Policy)
    async def policy_rollback(
        room: str, data: models.RollbackRequest, user: UserRecord
    ) -> out.Policy:
        """Roll a room's policy back to an earlier version

        The chosen version's policy is saved again as the next version (history only
        grows), audited as `policy_rollback`, and applied to the room at once.
        """
        record = await existing_room(ctx, room_name(room))
        current = current_version(ctx, record)
        if data.version == current.version:
            raise FieldError(409, "already_current", "version", f"v{data.version} is in force")
        restored = await stored_version(ctx, record, data.version)
        policy = RoomPolicy.from_dict({**restored.to_dict(), "version": current.version + 1})
        document = policy.to_dict()
        name, source = record.name, f"rollback to v{data.version}"

        def row_for(_saved: object) -> ActionRow:
            detail = {"from": current.version, "restored": data.version, "policy": document}
            reason = data.reason.strip() or None
            return ActionRow(
                actor=user.username,
                action="policy_rollback",
                room=name,
                reason=reason,
                detail=detail,
            )

        try:
            await audited(
                ctx,
                lambda s: repo.save_room_policy(
                    s, name, document, policy.version, by=user.username, source=source
                ),
                row_for,
            )
        except StalePolicyVersion as exc:
            raise ApiError(409, "stale_policy", "the policy changed meanwhile; reload") from exc
        await apply_policy(ctx, name, policy)
        return out.Policy.model_validate(document)

    shadow_routes(bp, ctx, moderator)
    why_routes(bp, ctx, moderator)
    return bp


async def _run(ctx: AppContext, run: ReplayRun) -> bool:
    """Step `run` to its end or REPLAY_TIMEOUT_SECS; whether it completed."""
    with trio.move_on_after(ctx.settings.replay_timeout_secs):
        while await run.step():
            pass
        return True
    return False


def _result(
    room: str,
    label: str,
    policy: RoomPolicy,
    run: ReplayRun,
    complete: bool,
    offset: int,
    limit: int,
) -> models.ReplayResult:
    summary = run.replay.summary()
    window = run.window
    return models.ReplayResult.model_validate(
        {
            **summary,
            "room": room,
            "candidate": label,
            "policy": policy.to_dict(),
            "window": {
                "since": window.since,
                "until": window.until,
                "last": window.last,
                "messages": window.messages,
                "truncated": window.truncated,
            },
            "rescored": run.rescore,
            "complete": complete,
            "offset": offset,
            "limit": limit,
            "changes": [c.as_dict() for c in run.replay.changes[offset : offset + limit]],
        }
    )


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()

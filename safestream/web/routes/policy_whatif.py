"""The what-if routes: replay a candidate policy on past chat; the history and rollback,
shadow and "why" routes are added from their own modules.

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
from safestream.store.records import ActionRow, RoomRecord, UserRecord
from safestream.web.deps import ApiError, authenticated, documented, event_stream, room_name
from safestream.web.models import whatif as models
from safestream.web.replay_run import ReplayRun, Window, plan
from safestream.web.routes.audited import applied_and_audited
from safestream.web.routes.message_why import why_routes
from safestream.web.routes.policy_common import (
    candidate,
    existing_room,
)
from safestream.web.routes.policy_history import history_routes
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
        room: str, data: models.ReplayRequest
    ) -> tuple[RoomRecord, RoomPolicy, str, Window]:
        """The room, the candidate and the window, or the refusal naming the field."""
        record = await existing_room(ctx, room_name(room))
        policy, label = await candidate(ctx, record, data)
        return record, policy, label, await plan(ctx, record.name, data)

    async def audit(user: UserRecord, room: str, label: str, window: Window, rescore: bool) -> None:
        detail = {
            "candidate": label,
            "window": {"since": window.since, "until": window.until, "last": window.last},
            "messages": window.rows,
            "rescore": rescore,
        }
        row = ActionRow(actor=user.username, action="replay", room=room, detail=detail)
        await applied_and_audited(ctx, None, row)

    def busy() -> ApiError:
        return ApiError(429, "busy", "too many replays at once; retry", retry_after=5)

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
        record, policy, label, window = await prepared(room, data)
        try:
            ctx.replays.acquire_nowait()
        except trio.WouldBlock:
            raise busy() from None
        try:
            if q.offset == 0:  # the next pages are the same replay
                await audit(user, record.name, label, window, data.rescore)
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
        record, policy, label, window = await prepared(room, data)
        if ctx.replays.available_tokens < 1:
            raise busy()
        await audit(user, record.name, label, window, data.rescore)

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

    history_routes(bp, ctx, moderator)
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

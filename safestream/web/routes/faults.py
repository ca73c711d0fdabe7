"""`/api/admin/faults/*`: fault injection beyond crashing actors, for chaos tests and demos.

Gated as `POST /api/admin/actors/crash` is: the admin role, only in demo mode or with
`FAULT_INJECTION=1` (otherwise 404, and the node has no fault switch at all), and
audited before it acts, so no fault is injected without its audit row.

`POST /api/admin/faults/model {"seconds": N}` makes every model call fail for N seconds
(0 ends a fault early); the answer says how long it lasts.

Example:
    curl -X POST localhost:8000/api/admin/faults/model -H "Authorization: Bearer $ADMIN" \
         -H 'Content-Type: application/json' -d '{"seconds": 10}'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import Blueprint

from actors import ActorError
from safestream.accounts.auth import Role
from safestream.moderation.faults import MAX_FAULT_SECS
from safestream.store.records import ActionRow
from safestream.store.writer import Persist, StoreUnavailable
from safestream.web.deps import ApiError, current_user, json_body

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["faults_blueprint"]

AUDIT_TIMEOUT_SECS = 10.0


def faults_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("faults", __name__, url_prefix="/api/admin/faults")

    @bp.post("/model")
    async def model_fault() -> dict[str, Any]:
        admin = await current_user(ctx, Role.ADMIN)
        switch = ctx.model_fault
        if switch is None or not ctx.settings.allows_fault_injection:
            raise ApiError(404, "not_found", "fault injection is off (FAULT_INJECTION=1)")
        seconds = _seconds(await json_body())
        row = ActionRow(
            actor=admin.username,
            action="fault_model",
            duration_secs=seconds,
            detail={"fault": "model", "seconds": seconds},
        )
        try:
            await ctx.address("store").ask(Persist(actions=(row,)), timeout=AUDIT_TIMEOUT_SECS)
        except (StoreUnavailable, ActorError) as exc:
            raise ApiError(503, "unavailable", "the audit log cannot be written now") from exc
        remaining = switch.fail_for(seconds)
        ctx.feed.notify(
            "action", {"actor": admin.username, "action": "fault_model", "seconds": seconds}
        )
        return {"status": "model failing" if remaining else "model restored", "seconds": seconds}

    return bp


def _seconds(body: dict[str, Any]) -> float:
    raw = body.get("seconds")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= MAX_FAULT_SECS:
        raise ApiError(
            422, "invalid_request", f"seconds must be a number from 0 to {MAX_FAULT_SECS:.0f}"
        )
    return float(raw)

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

from typing import TYPE_CHECKING

from quart import Blueprint
from quart_schema import validate_request, validate_response

from safestream.accounts.auth import Role
from safestream.store.records import ActionRow, UserRecord
from safestream.web.deps import ApiError, authenticated, documented
from safestream.web.models import responses as out
from safestream.web.models.requests import ModelFaultRequest
from safestream.web.routes.audited import applied_and_audited

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["faults_blueprint"]


def faults_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("faults", __name__, url_prefix="/api/admin/faults")

    @bp.post("/model")
    @documented("monitoring", {404: ["not_found"], 503: ["not_saved"]})
    @authenticated(ctx, Role.ADMIN)
    @validate_request(ModelFaultRequest)
    @validate_response(out.ModelFaultResult)
    async def model_fault(data: ModelFaultRequest, user: UserRecord) -> out.ModelFaultResult:
        """Make the model fail for a while (fault injection)

        Every model call fails for `seconds`; rooms apply their failure mode. Only in
        demo mode or with FAULT_INJECTION=1 (else 404 `not_found`); audited first.
        """
        switch = ctx.model_fault
        if switch is None or not ctx.settings.allows_fault_injection:
            raise ApiError(404, "not_found", "fault injection is off (FAULT_INJECTION=1)")
        audit = ActionRow(
            actor=user.username,
            action="fault_model",
            duration_secs=data.seconds,
            detail={"fault": "model", "seconds": data.seconds},
        )
        await applied_and_audited(ctx, None, audit)
        remaining = switch.fail_for(data.seconds)
        status = "model failing" if remaining else "model restored"
        return out.ModelFaultResult(status=status, seconds=data.seconds)

    return bp

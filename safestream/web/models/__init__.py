"""The HTTP API's typed bodies: request models (validated at the edge) and answers.

Quart-Schema validates every JSON body and query string against these pydantic models
before a route runs, and builds `/openapi.json` from them, so the document cannot drift
from what the code accepts. A refused body answers 422 naming the field (see
`safestream.web.errors`).

Example:
    @bp.post("/mute")
    @authenticated(ctx, Role.MODERATOR)
    @validate_request(MuteRequest)
    @validate_response(MuteResult)
    async def mute(data: MuteRequest, user: UserRecord) -> MuteResult: ...
"""

from safestream.web.models.base import Email, Error, Reason, RoomName, Text
from safestream.web.models.requests import (
    AuditQuery,
    BanRequest,
    CrashRequest,
    GiftRequest,
    HeldQuery,
    HistoryQuery,
    LoginRequest,
    MessagesQuery,
    MuteRequest,
    PolicyUpdate,
    ReasonRequest,
    RegisterRequest,
    StreamQuery,
    TargetRequest,
    TopQuery,
)

__all__ = [
    "AuditQuery",
    "BanRequest",
    "CrashRequest",
    "Email",
    "Error",
    "GiftRequest",
    "HeldQuery",
    "HistoryQuery",
    "LoginRequest",
    "MessagesQuery",
    "MuteRequest",
    "PolicyUpdate",
    "Reason",
    "ReasonRequest",
    "RegisterRequest",
    "RoomName",
    "StreamQuery",
    "TargetRequest",
    "Text",
    "TopQuery",
]

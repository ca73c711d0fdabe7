"""The moderator routes of the OpenAPI document (`/api/admin/*`)."""

from __future__ import annotations

from collections.abc import Iterable

from safestream.moderation.policy import ACTIONS
from safestream.web.openapi._base import (
    MESSAGE_PARAM,
    ROOM_PARAM,
    Json,
    _json,
    _json_body,
    _limit,
    _op,
    _query,
    _s,
    _sse,
    ref,
)


def admin_operations() -> dict[str, dict[str, Json]]:
    """Every `/api/admin/*` route (moderator or admin role)."""
    policy_get = _op(
        "policy",
        "Read a room's moderation policy",
        role="moderator",
        params=[ROOM_PARAM],
        ok=_json(ref("Policy")),
        description="The stored policy, or the default one (version 1).",
        errors={422: ["invalid_room"]},
    )
    policy_put = _op(
        "policy",
        "Replace a room's moderation policy",
        role="moderator",
        params=[ROOM_PARAM],
        body=_json_body(ref("PolicyUpdate")),
        ok=_json(ref("Policy"), "the stored policy with its new version"),
        description="Validates the whole policy, stores it as version + 1, applies it to the "
        "running room at once and audits it. Unknown fields are refused.",
        errors={409: ["stale_policy"], 422: ["invalid_room", "invalid_policy"]},
    )
    target_errors: dict[int, Iterable[str]] = {
        403: ["forbidden"],
        404: ["user_not_found"],
        422: ["invalid_request"],
    }
    return {
        "/api/admin/kick": {
            "post": _op(
                "moderation",
                "Kick a user",
                role="moderator",
                description="Closes the user's sockets with 4000. A moderator cannot act on a "
                "moderator or admin, nobody on themselves.",
                body=_json_body(ref("TargetRequest")),
                ok=_json(ref("KickResult")),
                errors=target_errors,
            )
        },
        "/api/admin/mute": {
            "post": _op(
                "moderation",
                "Mute a user",
                role="moderator",
                description="Refuses their messages until then; rooms get a `timeout` frame.",
                body=_json_body(ref("MuteRequest")),
                ok=_json(ref("MuteResult")),
                errors=target_errors,
            )
        },
        "/api/admin/unmute": {
            "post": _op(
                "moderation",
                "Unmute a user",
                role="moderator",
                body=_json_body(ref("TargetRequest")),
                ok=_json(ref("UserStatus")),
                errors=target_errors,
            )
        },
        "/api/admin/ban": {
            "post": _op(
                "moderation",
                "Ban a user",
                role="moderator",
                description="Stored with the user; sockets closed with 4003; reconnects refused.",
                body=_json_body(ref("BanRequest")),
                ok=_json(ref("BanResult")),
                errors=target_errors,
            )
        },
        "/api/admin/unban": {
            "post": _op(
                "moderation",
                "Lift a ban",
                role="moderator",
                body=_json_body(ref("TargetRequest")),
                ok=_json(ref("UserStatus")),
                errors=target_errors,
            )
        },
        "/api/admin/reset_metrics": {
            "post": _op(
                "moderation", "Zero the counters", role="moderator", ok=_json(ref("Status"))
            )
        },
        "/api/admin/messages/{message_id}/delete": {
            "post": _op(
                "moderation",
                "Delete a message",
                role="moderator",
                description="Viewers get `deleted`; it is gone from history. The body is optional.",
                params=[MESSAGE_PARAM],
                body=_json_body(ref("ReasonRequest")),
                body_required=False,
                ok=_json(ref("MessageStatus")),
                errors={
                    404: ["message_not_found"],
                    409: ["invalid_transition"],
                    422: ["invalid_request"],
                },
            )
        },
        "/api/admin/held": {
            "get": _op(
                "moderation",
                "The hold queue, oldest first",
                role="moderator",
                params=[_query("room", _s(), "one room (default: all)"), _limit(100, 500)],
                ok=_json(ref("HeldList")),
            )
        },
        "/api/admin/held/{message_id}/approve": {
            "post": _op(
                "moderation",
                "Approve a held message (delivers it)",
                role="moderator",
                params=[MESSAGE_PARAM],
                ok=_json(ref("MessageStatus")),
                errors={404: ["message_not_found"], 409: ["invalid_transition"]},
            )
        },
        "/api/admin/held/{message_id}/reject": {
            "post": _op(
                "moderation",
                "Reject a held message",
                role="moderator",
                params=[MESSAGE_PARAM],
                ok=_json(ref("MessageStatus")),
                errors={404: ["message_not_found"], 409: ["invalid_transition"]},
            )
        },
        "/api/admin/messages": {
            "get": _op(
                "moderation",
                "Recent messages with scores and status, newest first",
                role="moderator",
                params=[
                    _query("room", _s(), "one room"),
                    _query("user", _s(), "one author"),
                    _query(
                        "toxic_only",
                        {"type": "string", "enum": ["1", "true", "yes", "0", "false", "no"]},
                        "only messages flagged toxic (1, true or yes)",
                    ),
                    _query("action", {"type": "string", "enum": list(ACTIONS)}, "one action"),
                    _limit(100, 1000),
                ],
                ok=_json(ref("MessageList")),
            )
        },
        "/api/admin/audit": {
            "get": _op(
                "moderation",
                "The audit log: who did what to whom, when and why",
                role="moderator",
                params=[
                    _limit(100, 1000),
                    _query("actor", _s(), "one moderator"),
                    _query("target", _s(), "one user acted on"),
                ],
                ok=_json(ref("AuditLog")),
            )
        },
        "/api/admin/actors/crash": {
            "post": _op(
                "monitoring",
                "Crash an actor (fault injection)",
                role="admin",
                description="Lets engineers watch a supervisor restart an actor. Only in demo "
                "mode or with FAULT_INJECTION=1 (else 404 `not_found`). Audited.",
                body=_json_body(ref("CrashRequest")),
                ok=_json(ref("CrashResult")),
                errors={
                    404: ["not_found", "actor_not_found"],
                    409: ["busy"],
                    422: ["invalid_request"],
                },
            )
        },
        "/api/admin/faults/model": {
            "post": _op(
                "monitoring",
                "Make the model fail for a while (fault injection)",
                role="admin",
                description="Every model call fails for `seconds` (0 ends a fault early): "
                "rooms apply their failure mode (closed: hold, open: deliver `unscored`). "
                "Only in demo mode or with FAULT_INJECTION=1 (else 404 `not_found`). "
                "Audited before it acts.",
                body=_json_body(ref("ModelFaultRequest")),
                ok=_json(ref("ModelFaultResult")),
                errors={
                    404: ["not_found"],
                    422: ["invalid_request"],
                    503: ["unavailable"],
                },
            )
        },
        "/api/admin/events": {
            "get": _op(
                "moderation",
                "The moderators' live feed",
                role="moderator",
                description="Events `message`, `held`, `action`, and `metrics` every second. "
                "A subscriber that falls a whole queue behind is dropped; reconnect.",
                ok=_sse("message, held, action, metrics"),
                errors={503: ["unavailable"]},
            )
        },
        "/api/admin/rooms/{room}/policy": {"get": policy_get, "put": policy_put},
    }

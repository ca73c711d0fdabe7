"""`GET /openapi.json` (OpenAPI 3.1, built in code) and `GET /docs` (the same, as HTML).

The document is plain dicts: one `_op(...)` call per HTTP route, with its parameters and
their bounds, its body, its answer and the error statuses the route really returns.
`route_drift(app, document)` compares it with the app's URL map, so a route added or
removed without its documentation fails the tests (tests/server/test_openapi.py).

The docs page is rendered on the server, escaped with `html.escape`, without scripts.
Its own Content-Security-Policy allows the shared stylesheet and the one inline style
block (by hash), nothing else.

Example:
    app.register_blueprint(openapi_blueprint(services))
    # GET /openapi.json -> the document, GET /docs -> the HTML page
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from quart import Blueprint, Quart, Response

import safestream
from safestream.gifts import GIFT_CATALOGUE, MAX_AMOUNT
from safestream.moderation.policy import ACTIONS, FAILURE_MODES
from safestream.room_supervisor import ROOM_NAME
from safestream.web.admin_routes import DEFAULT_MUTE_SECS, MAX_REASON, MAX_SANCTION_SECS
from safestream.web.auth_routes import MAX_EMAIL_LENGTH

if TYPE_CHECKING:
    from safestream.services import Services
    from safestream.settings import Settings

__all__ = [
    "DOCS_CSP",
    "HTTP_METHODS",
    "UNDOCUMENTED_ENDPOINTS",
    "docs_html",
    "http_routes",
    "openapi_blueprint",
    "openapi_document",
    "route_drift",
]

Json = dict[str, Any]

HTTP_METHODS = ("get", "put", "post", "delete", "patch")

# File-serving routes: the stylesheets, scripts and images of the browser client.
UNDOCUMENTED_ENDPOINTS = frozenset({"static", "ui.static_file"})

ROLES = ("viewer", "moderator", "admin")

TAGS: list[Json] = [
    {"name": "auth", "description": "Accounts and tokens (OAuth2 password flow, JWT)."},
    {"name": "rooms", "description": "Rooms and their stored history."},
    {"name": "gifts", "description": "Sending gifts and the top-gifters board."},
    {"name": "monitoring", "description": "Health, metrics and the actor supervision tree."},
    {"name": "moderation", "description": "Moderator tools: sanctions, review, audit, feed."},
    {"name": "policy", "description": "Per-room moderation policy."},
    {"name": "ui", "description": "The browser client's pages."},
    {"name": "docs", "description": "This documentation."},
]

_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


# --- schema helpers ---------------------------------------------------------------------


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: Iterable[str] = (), additional: Any = None, **props: Json) -> Json:
    schema: Json = {"type": "object", "properties": props}
    req = list(required)
    if req:
        schema["required"] = req
    if additional is not None:
        schema["additionalProperties"] = additional
    return schema


def _s(description: str = "", **extra: Any) -> Json:
    return {"type": "string", **extra, **({"description": description} if description else {})}


def _i(description: str = "", **extra: Any) -> Json:
    return {"type": "integer", **extra, **({"description": description} if description else {})}


def _n(description: str = "", **extra: Any) -> Json:
    return {"type": "number", **extra, **({"description": description} if description else {})}


def _arr(items: Json, **extra: Any) -> Json:
    return {"type": "array", "items": items, **extra}


def _nullable(schema: Json) -> Json:
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    return out


ROOM_PATTERN = ROOM_NAME.pattern


def _schemas(settings: Settings) -> Json:
    count = _i(minimum=0)
    counts = {"type": "object", "additionalProperties": count}
    username = _s(
        "letters, digits, '_', '.', '-'; not starting with '.' or '-'",
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        minLength=1,
        maxLength=settings.max_username_length,
    )
    action = {"type": "string", "enum": list(ACTIONS)}
    policy_props: Json = {
        "version": _i("stored version; a PUT ignores it and stores the next one", minimum=1),
        "thresholds": {
            "type": "object",
            "description": "category -> score at which a message counts as toxic",
            "additionalProperties": _n(minimum=0, maximum=1),
        },
        "bands": _arr(ref("Band"), description="the most severe matching band wins"),
        "blocked_terms": _arr(_s(), maxItems=1000),
        "blocked_term_action": action,
        "slow_mode_secs": _n(minimum=0),
        "duplicate_window_secs": _n(minimum=0),
        "max_duplicates": _i("the same text this many times in the window is refused", minimum=1),
        "timeout_secs": _n(minimum=0),
        "failure_mode": {
            "type": "string",
            "enum": list(FAILURE_MODES),
            "description": "closed: hold unscored messages; open: deliver them",
        },
    }
    chat_props: Json = {
        "type": {"const": "chat"},
        "id": _s("32 hex characters", pattern="^[0-9a-f]{32}$"),
        "user": _s(),
        "message": _s("masked where action is mask"),
        "toxic": {"type": "boolean"},
        "score": _n("toxicity probability", minimum=0, maximum=1),
        "ts": _s("ISO 8601 UTC", format="date-time"),
        "room": _s(),
        "seq": _i("one more per accepted message in the room", minimum=0),
        "action": {"type": "string", "enum": ["allow", "mask", "unscored", *ACTIONS[2:]]},
        "scores": {"type": "object", "additionalProperties": _n(minimum=0, maximum=1)},
        "policy_version": _i(minimum=1),
    }
    return {
        "Error": _obj(
            ["detail", "error"],
            detail=_s("human-readable"),
            error=_s("machine-readable code, e.g. forbidden"),
        ),
        "Role": {"type": "string", "enum": list(ROLES)},
        "RegisterRequest": _obj(
            ["username", "password"],
            username=username,
            password=_s(minLength=settings.min_password_length),
            email=_nullable(_s(format="email", maxLength=MAX_EMAIL_LENGTH)),
        ),
        "LoginRequest": _obj(["username", "password"], username=_s(), password=_s()),
        "Token": _obj(
            ["access_token", "token_type", "username", "role", "expires_in"],
            access_token=_s("a JWT for the Authorization: Bearer header"),
            token_type={"const": "bearer"},
            username=_s(),
            role=ref("Role"),
            expires_in=_i("seconds", minimum=1),
        ),
        "User": _obj(
            ["id", "username", "email", "role", "created_at", "banned_until"],
            id=_i(),
            username=_s(),
            email=_nullable(_s()),
            role=ref("Role"),
            created_at=_s(format="date-time"),
            banned_until=_nullable(_s(format="date-time")),
        ),
        "Health": _obj(
            ["status"], status=_s("ok while the actor tree runs; else its status, e.g. starting")
        ),
        "Metrics": _obj(
            ["viewer_count", "gift_count", "toxic_pct"],
            viewer_count=count,
            gift_count=count,
            toxic_pct=_n(minimum=0, maximum=100),
            messages_total=count,
            toxic_total=count,
            rooms=count,
            actions=counts,
            refused=counts,
            slow_consumers=count,
            moderation=_obj(
                model=_s(),
                batches=count,
                texts=count,
                failures=count,
                unscored=count,
                mean_latency_ms=_n(minimum=0),
            ),
        ),
        "RoomList": _obj(
            ["rooms"],
            rooms=_arr(_obj(["name", "viewers", "seq"], name=_s(), viewers=count, seq=count)),
        ),
        "ChatFrame": _obj(list(chat_props), **chat_props),
        "History": _obj(["room", "messages"], room=_s(), messages=_arr(ref("ChatFrame"))),
        "AdminMessage": {
            "allOf": [
                ref("ChatFrame"),
                _obj(
                    ["status", "original", "triggers"],
                    status=_s("visible, held, blocked, deleted, rejected"),
                    original=_s("the text as sent"),
                    triggers=_arr(_s()),
                ),
            ]
        },
        "HeldList": _obj(["held"], held=_arr(ref("AdminMessage"))),
        "MessageList": _obj(["messages"], messages=_arr(ref("AdminMessage"))),
        "GiftRequest": _obj(
            ["gift_id"],
            gift_id=_i(
                ", ".join(f"{k}: {v}" for k, v in sorted(GIFT_CATALOGUE.items())),
                enum=sorted(GIFT_CATALOGUE),
            ),
            amount=_i(minimum=1, maximum=MAX_AMOUNT, default=1),
            room=_s(pattern=ROOM_PATTERN, default="main"),
            **{"from": _s("sender; only moderators may name someone else")},
        ),
        "GiftFrame": _obj(
            ["type", "from", "gift_id", "amount", "ts", "room"],
            type={"const": "gift"},
            gift_id=_i(),
            amount=_i(),
            ts=_s(format="date-time"),
            room=_s(),
            **{"from": _s()},
        ),
        "TopGifters": _obj(
            ["top"], top=_arr(_obj(["user", "amount"], user=_s(), amount=_i(minimum=1)))
        ),
        "ActorNode": _obj(
            ["name", "path", "kind", "status", "restarts", "mailbox", "info", "children"],
            name=_s(),
            path=_s(),
            kind=_s(),
            status={
                "type": "string",
                "enum": ["starting", "running", "restarting", "stopping", "stopped", "failed"],
            },
            restarts=count,
            last_error=_obj(["type", "message"], type=_s(), message=_s(), at=_n("trio time"))
            | {"type": ["object", "null"]},
            mailbox=_obj(depth=count, capacity=count, dropped=count, sent=count, policy=_s()),
            handled=count,
            uptime=_n(minimum=0),
            info={"type": "object", "description": "the actor's introspect()"},
            children=_arr(ref("ActorNode")),
        ),
        "TargetRequest": _obj(
            ["username"],
            username=_s("the user acted on (`user` is accepted as an alias)"),
            reason=_s(f"kept up to {MAX_REASON} characters"),
        ),
        "MuteRequest": _obj(
            ["username"],
            username=_s("`user` is accepted as an alias"),
            duration_secs=_n(minimum=1, maximum=MAX_SANCTION_SECS, default=DEFAULT_MUTE_SECS),
            reason=_s(),
        ),
        "BanRequest": _obj(
            ["username"],
            username=_s("`user` is accepted as an alias"),
            duration_secs=_n("absent: permanent", minimum=1, maximum=MAX_SANCTION_SECS),
            reason=_s(),
        ),
        "ReasonRequest": _obj(reason=_s(f"kept up to {MAX_REASON} characters")),
        "KickResult": _obj(
            ["status", "username", "connections"],
            status={"const": "kicked"},
            username=_s(),
            connections=_i("sockets closed (code 4000)", minimum=0),
        ),
        "MuteResult": _obj(
            ["status", "username", "until"],
            status={"const": "muted"},
            username=_s(),
            until=_n("epoch seconds"),
        ),
        "BanResult": _obj(
            ["status", "username", "until", "connections"],
            status={"const": "banned"},
            username=_s(),
            until=_nullable(_s("null: permanent", format="date-time")),
            connections=_i("sockets closed (code 4003)", minimum=0),
        ),
        "UserStatus": _obj(["status", "username"], status=_s(), username=_s()),
        "MessageStatus": _obj(
            ["status", "id"], status=_s("deleted, approved or rejected"), id=_s()
        ),
        "Status": _obj(["status"], status=_s()),
        "AuditEntry": _obj(
            ["id", "actor", "action", "target", "created_at"],
            id=_i(),
            actor=_s(),
            action=_s("kick, mute, unmute, ban, unban, reset_metrics, policy, crash_actor, ..."),
            target=_nullable(_s()),
            room=_nullable(_s()),
            reason=_nullable(_s()),
            duration_secs=_nullable(_n()),
            detail={"type": ["object", "null"]},
            created_at=_s(format="date-time"),
        ),
        "AuditLog": _obj(["actions"], actions=_arr(ref("AuditEntry"))),
        "CrashRequest": _obj(
            ["path"], path=_s("an actor path", pattern="^/", examples=["/safestream/gifts"])
        ),
        "CrashResult": _obj(["status", "path"], status={"const": "crash sent"}, path=_s()),
        "Band": _obj(
            ["category", "min_score", "action"],
            category=_s('a score category, or "any"', minLength=1),
            min_score=_n(minimum=0, maximum=1),
            action=action,
        ),
        "Policy": _obj(list(policy_props), **policy_props),
        "PolicyUpdate": _obj((), additional=False, **policy_props)
        | {"description": "omitted fields take their defaults; version is ignored"},
        "FeedEvent": _obj(
            ["type", "data"],
            type={"type": "string", "enum": ["message", "held", "action", "metrics"]},
            data={"type": "object"},
        ),
    }


# --- operation helpers ------------------------------------------------------------------


def _error(status: int, codes: Iterable[str]) -> Json:
    names = list(codes)
    return {
        "description": f"{_STATUS_TEXT[status]}: " + ", ".join(f"`{c}`" for c in names),
        "x-error-codes": names,
        "content": {"application/json": {"schema": ref("Error")}},
    }


def _json(schema: Json, description: str = "OK") -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: Json, description: str = "") -> Json:
    param: Json = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def _limit(default: int, high: int) -> Json:
    return _query("limit", _i(minimum=1, maximum=high, default=default), "how many at most")


def _path(name: str, schema: Json, description: str = "") -> Json:
    param: Json = {"name": name, "in": "path", "required": True, "schema": schema}
    if description:
        param["description"] = description
    return param


ROOM_PARAM = _path("room", _s(pattern=ROOM_PATTERN), "room name")
MESSAGE_PARAM = _path("message_id", _s(), "the message id (32 hex characters)")


def _op(
    tag: str,
    summary: str,
    *,
    ok: Json,
    role: str | None = None,
    description: str = "",
    params: Iterable[Json] = (),
    body: Json | None = None,
    body_required: bool = True,
    errors: dict[int, Iterable[str]] | None = None,
) -> Json:
    """One operation: auth (401/403), JSON body (400/413/415) and bounds (422) included."""
    found: dict[int, list[str]] = {}

    def add(status: int, *codes: str) -> None:
        found.setdefault(status, [])
        found[status] += [c for c in codes if c not in found[status]]

    op: Json = {"tags": [tag], "summary": summary, "operationId": ""}
    notes = [description] if description else []
    if role is None:
        op["security"] = []
    else:
        op["security"] = [{"bearerAuth": []}]
        op["x-required-role"] = role
        notes.append(f"Requires the **{role}** role (or higher).")
        add(401, "not_authenticated", "invalid_token")
        if role != "viewer":
            add(403, "forbidden")
    parameters = list(params)
    if parameters:
        op["parameters"] = parameters
        if any(p["in"] == "query" and "maximum" in p["schema"] for p in parameters):
            add(422, "invalid_query")  # integer arguments outside their bounds
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": body}
        if "application/json" in body:
            add(400, "bad_json")
            add(413, "request_entity_too_large")
            if "application/x-www-form-urlencoded" not in body and body_required:
                add(415, "unsupported_media_type")
    for status, codes in (errors or {}).items():
        add(status, *codes)
    if notes:
        op["description"] = "\n\n".join(notes)
    responses: Json = {"200": ok}
    for status in sorted(found):
        responses[str(status)] = _error(status, found[status])
    op["responses"] = responses
    return op


def _sse(events: str) -> Json:
    return {
        "description": f"Server-Sent Events ({events}); the stream stays open",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }


HTML_OK: Json = {
    "description": "HTML page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _json_body(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _operations() -> dict[str, dict[str, Json]]:
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
        "/auth/register": {
            "post": _op(
                "auth",
                "Create a viewer account",
                body=_json_body(ref("RegisterRequest")),
                ok=_json(ref("User"), "the new user"),
                errors={
                    409: ["user_exists"],
                    422: [
                        "invalid_request",
                        "invalid_email",
                        "invalid_username",
                        "invalid_password",
                    ],
                    429: ["too_many_attempts"],
                },
            )
        },
        "/auth/login": {
            "post": _op(
                "auth",
                "Log in: a bearer token",
                description="OAuth2 password form (as the original) or JSON. Attempts are "
                "limited per IP and per username (429 with Retry-After).",
                body={
                    "application/x-www-form-urlencoded": {"schema": ref("LoginRequest")},
                    **_json_body(ref("LoginRequest")),
                },
                ok=_json(ref("Token")),
                errors={
                    401: ["login_failed"],
                    422: ["invalid_request"],
                    429: ["too_many_attempts"],
                },
            )
        },
        "/auth/me": {"get": _op("auth", "The current user", role="viewer", ok=_json(ref("User")))},
        "/health": {
            "get": _op("monitoring", "Liveness of the actor tree", ok=_json(ref("Health")))
        },
        "/metrics": {
            "get": _op(
                "monitoring",
                "Counters as JSON",
                description="The original's viewer_count, gift_count, toxic_pct, and more.",
                ok=_json(ref("Metrics")),
            )
        },
        "/metrics/prometheus": {
            "get": _op(
                "monitoring",
                "Counters in Prometheus text format",
                ok={
                    "description": "messages, decisions, refusals, moderation latency "
                    "histogram, queue depths, drops, restarts",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
            )
        },
        "/api/rooms": {"get": _op("rooms", "Running rooms", ok=_json(ref("RoomList")))},
        "/api/rooms/{room}/history": {
            "get": _op(
                "rooms",
                "A room's stored messages",
                role="viewer",
                params=[
                    ROOM_PARAM,
                    _limit(50, 500),
                    _query(
                        "after_seq",
                        _i(minimum=0, maximum=2**62, default=0),
                        "only messages after this seq (0: the latest)",
                    ),
                ],
                ok=_json(ref("History")),
                errors={422: ["invalid_room", "invalid_query"]},
            )
        },
        "/api/gift": {
            "post": _op(
                "gifts",
                "Send a gift (also broadcast to the room)",
                role="viewer",
                body=_json_body(ref("GiftRequest")),
                ok=_json(ref("GiftFrame"), "the gift frame as broadcast"),
                errors={
                    403: ["forbidden"],
                    422: ["invalid_gift"],
                    503: ["unavailable"],
                },
            )
        },
        "/api/gifts/top": {
            "get": _op(
                "gifts",
                "Top gifters",
                params=[_query("room", _s(), "one room (default: all)"), _limit(10, 100)],
                ok=_json(ref("TopGifters")),
            )
        },
        "/api/actors": {
            "get": _op(
                "monitoring",
                "The supervision tree snapshot",
                role="moderator",
                ok=_json(ref("ActorNode")),
                errors={503: ["starting"]},
            )
        },
        "/api/actors/stream": {
            "get": _op(
                "monitoring",
                "The supervision tree, live",
                role="moderator",
                description="An event `snapshot` (an ActorNode as JSON) whenever the tree "
                "changes, checked every interval_ms.",
                params=[
                    _query(
                        "interval_ms",
                        _i(minimum=100, maximum=60000, default=500),
                        "how often to check",
                    )
                ],
                ok=_sse("snapshot"),
                errors={503: ["starting"]},
            )
        },
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
        "/": {"get": _op("ui", "The log-in / register page", ok=HTML_OK)},
        "/chat": {"get": _op("ui", "The stream page (chat client)", ok=HTML_OK)},
        "/openapi.json": {
            "get": _op(
                "docs",
                "This OpenAPI 3.1 document",
                ok=_json({"type": "object"}),
            )
        },
        "/docs": {"get": _op("docs", "This document as an HTML page", ok=HTML_OK)},
    }


def _websockets(settings: Settings) -> list[Json]:
    return [
        {
            "path": "/ws/{username}",
            "summary": "The chat socket (one room per connection)",
            "role": "viewer",
            "query": {
                "room": "room name (default main; 1-40 of letters, digits, _ and -)",
                "since": "the last seq the client saw, to recover what it missed",
                "token": "the JWT (the original's way; prefer the options below)",
            },
            "auth": "First that applies: subprotocol `token.<jwt>` next to `safestream`, "
            '`?token=`, or a first frame {"type":"auth","token":"<jwt>"} within '
            f"{settings.auth_timeout_secs:g} s. The token must name the user in the path.",
            "client_frames": "chat {message} (1.."
            f"{settings.max_message_length} characters), auth {{token}} (first frame only), "
            "ping",
            "server_frames": "chat, gift, history, presence, held, blocked, deleted, timeout, "
            "policy, error {code, detail}, pong",
            "close_codes": "1001 shutting down, 1008 policy violation (bad token, origin, "
            "query), 1009 frame too large, 1011 internal error, 1012 room restarted, 1013 "
            "limits reached, 4000 kicked, 4003 banned, 4008 too slow, 4009 replaced",
        },
        {
            "path": "/api/admin/events/ws",
            "summary": "The moderators' live feed as a WebSocket",
            "role": "moderator",
            "query": {"token": "the JWT (or send a first auth frame)"},
            "auth": '`?token=` or a first frame {"type":"auth","token":"<jwt>"} within '
            f"{settings.auth_timeout_secs:g} s; the moderator role is required.",
            "client_frames": "auth {token} (first frame only)",
            "server_frames": 'the feed events as {"type": kind, "data": {...}}: message, '
            "held, action, metrics",
            "close_codes": "1008 bad token or missing role, 1013 feed unavailable",
        },
    ]


def openapi_document(settings: Settings) -> Json:
    """The OpenAPI 3.1 document of every HTTP route (plain JSON-able dicts)."""
    paths = _operations()
    for path, methods in paths.items():
        for method, op in methods.items():
            slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
            op["operationId"] = f"{method}_{slug}"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SafeStream HTTP API",
            "version": safestream.__version__,
            "summary": "Live-stream chat where every message is moderated before delivery.",
            "description": 'Errors are JSON `{"detail": "...", "error": "<code>"}` with '
            "the HTTP status. Log in with `POST /auth/login` and send the token as "
            "`Authorization: Bearer <jwt>`. Roles, weakest first: viewer, moderator, admin; "
            "a route needing a role answers 401 without a valid token and 403 without the "
            "role. Unknown paths answer 404, wrong methods 405, bodies over 64 KiB 413.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": TAGS,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "From POST /auth/login; expires after "
                    f"{settings.jwt_expire_minutes} minutes.",
                }
            },
            "schemas": _schemas(settings),
        },
        "x-websockets": _websockets(settings),
    }


# --- drift check --------------------------------------------------------------------------

_RULE_ARG = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def http_routes(app: Quart) -> set[tuple[str, str]]:
    """(OpenAPI path, lower-case method) of every HTTP route the app serves.

    Leaves out WebSocket rules, file-serving routes (`UNDOCUMENTED_ENDPOINTS`) and the
    automatic HEAD and OPTIONS.
    """
    routes: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if getattr(rule, "websocket", False) or rule.endpoint in UNDOCUMENTED_ENDPOINTS:
            continue
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method.lower() in HTTP_METHODS:
                routes.add((path, method.lower()))
    return routes


def documented_routes(document: Json) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, methods in document["paths"].items()
        for method in methods
        if method in HTTP_METHODS
    }


def route_drift(app: Quart, document: Json) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(served but undocumented, documented but not served); both empty when in sync."""
    served, documented = http_routes(app), documented_routes(document)
    return served - documented, documented - served


# --- the HTML page ------------------------------------------------------------------------

DOCS_STYLE = """
main.docs { max-width: 1100px; margin: 0 auto; padding: 1.5em; }
.docs h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.3em; margin-top: 2em; }
.docs section.op { background: var(--panel); border: 1px solid var(--line);
  border-radius: var(--radius); padding: 0.8em 1.1em; margin: 1em 0; }
.docs .method { display: inline-block; min-width: 4.5em; font-weight: 700;
  text-transform: uppercase; color: var(--accent-2); }
.docs .path, .docs code { font-family: ui-monospace, Menlo, Consolas, monospace; }
.docs .role { float: right; color: var(--warn); }
.docs .public { float: right; color: var(--ok); }
.docs table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
.docs th, .docs td { text-align: left; vertical-align: top; padding: 0.25em 0.6em;
  border-bottom: 1px solid var(--line); }
.docs .muted { color: var(--muted); }
.docs a { color: var(--accent-2); }
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(DOCS_STYLE.encode()).digest()).decode()

DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        f"style-src 'self' 'sha256-{_STYLE_HASH}'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _text(value: Any) -> str:
    """Escaped prose, with `code` spans and **bold** as in the document's descriptions."""
    escaped = _e(value)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _schema_html(schema: Json, depth: int = 0) -> str:
    """A compact, escaped rendering of a schema: `{name: string, age?: integer}`."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    if "const" in schema:
        return _e(json.dumps(schema["const"]))
    if "enum" in schema:
        return " | ".join(_e(json.dumps(v)) for v in schema["enum"])
    if "allOf" in schema:
        return " &amp; ".join(_schema_html(s, depth) for s in schema["allOf"])
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    parts: list[str] = []
    for k in kinds:
        if k == "array":
            parts.append(f"[{_schema_html(schema.get('items', {}), depth + 1)}]")
        elif k == "object" and "properties" in schema and depth < 2:
            required = set(schema.get("required", []))
            fields = ", ".join(
                f"{_e(name)}{'' if name in required else '?'}: {_schema_html(sub, depth + 1)}"
                for name, sub in schema["properties"].items()
            )
            parts.append("{" + fields + "}")
        elif k == "object" and isinstance(schema.get("additionalProperties"), dict):
            parts.append(f"{{string: {_schema_html(schema['additionalProperties'], depth + 1)}}}")
        else:
            parts.append(_e(k))
    return " | ".join(parts)


def _bounds(schema: Json) -> str:
    notes = []
    for key, label in (
        ("minimum", "min"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("maxItems", "max items"),
        ("pattern", "pattern"),
        ("format", "format"),
        ("default", "default"),
    ):
        if key in schema:
            notes.append(f"{label} {schema[key]}")
    return _e(", ".join(notes))


def _param_rows(params: list[Json]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
        f"<td>{_schema_html(p['schema'])}</td><td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{_bounds(p['schema'])}</td><td>{_e(p.get('description', ''))}</td></tr>"
        for p in params
    )
    return (
        "<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th>"
        f"<th>bounds</th><th>description</th></tr>{rows}</table>"
    )


def _content_html(content: Json) -> str:
    return "<br>".join(
        f"<code>{_e(media)}</code>: {_schema_html(spec.get('schema', {}))}"
        for media, spec in content.items()
    )


def _operation_html(path: str, method: str, op: Json) -> str:
    role = op.get("x-required-role")
    badge = (
        f'<span class="role">role: {_e(role)} (bearer JWT)</span>'
        if role
        else '<span class="public">public</span>'
    )
    out = [
        f'<section class="op" id="{_e(op["operationId"])}">',
        f'<h3><span class="method">{_e(method)}</span> <span class="path">{_e(path)}</span>'
        f"{badge}</h3>",
        f"<p>{_e(op.get('summary', ''))}</p>",
    ]
    if op.get("description"):
        out += [f'<p class="muted">{_text(op["description"])}</p>']
    if op.get("parameters"):
        out.append(_param_rows(op["parameters"]))
    if "requestBody" in op:
        body = op["requestBody"]
        optional = "" if body.get("required") else " (optional)"
        out.append(f"<p><strong>Body{optional}</strong>: {_content_html(body['content'])}</p>")
    rows = "".join(
        f"<tr><td>{_e(status)}</td><td>{_text(resp.get('description', ''))}</td>"
        f"<td>{_content_html(resp.get('content', {}))}</td></tr>"
        for status, resp in op["responses"].items()
    )
    out.append(
        f"<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{rows}</table></section>"
    )
    return "".join(out)


def _schema_section(name: str, schema: Json) -> str:
    out = [f'<section class="op" id="schema-{_e(name)}"><h3>{_e(name)}</h3>']
    if schema.get("description"):
        out.append(f'<p class="muted">{_text(schema["description"])}</p>')
    parts = schema.get("allOf", [schema])
    for part in parts:
        if "properties" not in part:
            out.append(f"<p>{_schema_html(part)}</p>")
            continue
        required = set(part.get("required", []))
        rows = "".join(
            f"<tr><td><code>{_e(field)}</code></td><td>{_schema_html(sub, 1)}</td>"
            f"<td>{'yes' if field in required else 'no'}</td><td>{_bounds(sub)}</td>"
            f"<td>{_e(sub.get('description', ''))}</td></tr>"
            for field, sub in part["properties"].items()
        )
        out.append(
            "<table><tr><th>field</th><th>type</th><th>required</th><th>bounds</th>"
            f"<th>description</th></tr>{rows}</table>"
        )
    out.append("</section>")
    return "".join(out)


def _websocket_html(ws: Json) -> str:
    query = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td>{_e(v)}</td></tr>" for k, v in ws["query"].items()
    )
    facts = "".join(
        f"<tr><th>{_e(label)}</th><td>{_text(ws[key])}</td></tr>"
        for key, label in (
            ("auth", "authentication"),
            ("client_frames", "client → server"),
            ("server_frames", "server → client"),
            ("close_codes", "close codes"),
        )
    )
    return (
        f'<section class="op"><h3><span class="method">ws</span> '
        f'<span class="path">{_e(ws["path"])}</span>'
        f'<span class="role">role: {_e(ws["role"])}</span></h3><p>{_e(ws["summary"])}</p>'
        f"<table><tr><th>query</th><th>meaning</th></tr>{query}</table>"
        f"<table>{facts}</table></section>"
    )


def docs_html(document: Json) -> str:
    """The document as one self-contained, escaped HTML page (no scripts)."""
    info = document["info"]
    by_tag: dict[str, list[str]] = {tag["name"]: [] for tag in document["tags"]}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation_html(path, method, op))
    descriptions = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    toc = "".join(
        f'<li><a href="#tag-{_e(tag)}">{_e(tag)}</a> '
        f'<span class="muted">{_e(descriptions.get(tag, ""))}</span></li>'
        for tag, ops in by_tag.items()
        if ops
    )
    sections = "".join(
        f'<h2 id="tag-{_e(tag)}">{_e(tag)}</h2>{"".join(ops)}' for tag, ops in by_tag.items() if ops
    )
    sockets = "".join(_websocket_html(ws) for ws in document.get("x-websockets", []))
    schemas = "".join(
        _schema_section(name, schema) for name, schema in document["components"]["schemas"].items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(info['title'])} {_e(info['version'])}</title>"
        '<link rel="stylesheet" href="/ui/css/base.css">'
        f"<style>{DOCS_STYLE}</style></head>"
        f'<body><main class="docs"><h1>{_e(info["title"])} '
        f'<span class="muted">{_e(info["version"])}</span></h1>'
        f"<p>{_text(info['description'])}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI '
        f"{_e(document['openapi'])}).</p>"
        f'<ul>{toc}<li><a href="#websockets">websockets</a></li>'
        '<li><a href="#schemas">schemas</a></li></ul>'
        f'{sections}<h2 id="websockets">websockets</h2>{sockets}'
        f'<h2 id="schemas">schemas</h2>{schemas}</main></body></html>'
    )


def openapi_blueprint(services: Services) -> Blueprint:
    """`GET /openapi.json` and `GET /docs`, built once from the services' settings."""
    bp = Blueprint("openapi", __name__)
    document = openapi_document(services.settings)
    document_json = json.dumps(document, indent=1)
    page = docs_html(document)

    @bp.get("/openapi.json")
    async def openapi_json() -> Response:
        response = Response(document_json, content_type="application/json")
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/docs")
    async def docs() -> Response:
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = DOCS_CSP
        response.headers["Cache-Control"] = "no-cache"
        return response

    return bp

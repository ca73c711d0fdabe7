"""The public and viewer routes of the OpenAPI document, and its WebSocket summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safestream.web.openapi._base import (
    HTML_OK,
    ROOM_PARAM,
    Json,
    _i,
    _json,
    _json_body,
    _limit,
    _op,
    _query,
    _s,
    _sse,
    ref,
)

if TYPE_CHECKING:
    from safestream.settings import Settings


def public_operations() -> dict[str, dict[str, Json]]:
    """Every route outside `/api/admin/*`."""
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


def websockets(settings: Settings) -> list[Json]:
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

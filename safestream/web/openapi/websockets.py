"""The WebSocket endpoints, for the `x-websockets` part of the document and the docs page.

OpenAPI has no words for a WebSocket, so these are plain facts next to the document
(each bound read from the settings); docs/protocol.md has every frame in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safestream.settings import Settings

__all__ = ["websockets"]


def websockets(settings: Settings) -> list[dict[str, Any]]:
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
            "close_codes": "see docs/protocol.md (1001 shutting down, 1008 policy violation, "
            "1009 frame too large, 1013 limits reached, 4000 kicked, 4003 banned, 4008 too "
            "slow, ...)",
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

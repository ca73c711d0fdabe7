"""The node's ASGI entry: `/ws/...` chat sockets go straight to the chat core, all else
to the Quart-Trio app (HTTP routes, moderator socket, static UI), whose HTTP responses
pass `keep_alive_guard` so each connection is kept alive or closed as promised.

Keeping the chat socket off Quart's websocket wrappers saves per-frame work; both share
one port, as the original's URL `/ws/{username}` requires.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from safestream.web.app import MAX_BODY_BYTES, create_app
from safestream.web.chat_socket import chat_socket
from safestream.web.keepalive import keep_alive_guard
from safestream.web.transport import AsgiTransport

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["build_asgi"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def build_asgi(ctx: AppContext) -> Asgi:
    app = keep_alive_guard(
        cast(Asgi, create_app(ctx)),
        body_timeout_secs=ctx.settings.body_timeout_secs,
        max_body_bytes=MAX_BODY_BYTES,
    )

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope.get("path", "").startswith("/ws/"):
            await chat_socket(ctx, AsgiTransport(scope, receive, send))
            return
        await app(scope, receive, send)

    return asgi

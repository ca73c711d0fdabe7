"""The node's ASGI entry: the Quart-Trio app (HTTP routes, moderator socket, static UI),
whose HTTP responses pass `keep_alive_guard` so each connection is kept alive or closed
as promised, and the fallback path for `/ws/...` chat sockets.

Chat sockets normally never reach ASGI: the node's listener (`web/listener.py`) takes a
connection whose first request is a `/ws/` upgrade and serves it itself. An upgrade that
comes as a later request on a kept-alive HTTP connection (a reverse proxy reusing its
upstream connections) reaches Hypercorn instead; it is served here, over `AsgiTransport`,
straight to the chat core (bypassing Quart's websocket wrappers), at Hypercorn's
per-frame cost.
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
            transport = AsgiTransport(scope, receive, send)
            if await transport.wait_connect():
                await chat_socket(ctx, transport)
            return
        await app(scope, receive, send)

    return asgi

"""The node's ASGI entry: the Quart-Trio app (HTTP routes, moderator socket, static UI),
and the fallback path for `/ws/...` chat sockets.

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

from safestream.web.app import create_app
from safestream.web.chat_socket import chat_socket
from safestream.web.transport import AsgiTransport

if TYPE_CHECKING:
    from safestream.services import Services

__all__ = ["build_asgi"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def build_asgi(services: Services) -> Asgi:
    app = cast(Asgi, create_app(services))

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope.get("path", "").startswith("/ws/"):
            transport = AsgiTransport(scope, receive, send)
            if await transport.wait_connect():
                await chat_socket(services, transport)
            return
        await app(scope, receive, send)

    return asgi

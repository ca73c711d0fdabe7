"""Let Hypercorn end or reuse every HTTP/1.1 connection the Quart-Trio app answers.

Hypercorn decides a connection's fate when a response ends: it restarts the keep-alive
timer (`KEEP_ALIVE_SECS`), or closes the socket (`Connection: close`, or a request body
still on its way). Two things in front of that decision are fixed here, at the ASGI
boundary, without patching either library:

1. Hypercorn makes that decision inside the app's last `send` call, and on the way
   delivers `http.disconnect` to the app. Quart-Trio (0.12) cancels its request nursery as
   soon as it receives `http.disconnect`, and that nursery holds the very task that is
   still inside `send`: the cancellation lands in Hypercorn's bookkeeping, so the
   keep-alive timer never starts and the socket is never closed; every connection stays
   open until the client leaves. The last `send` of a response is therefore shielded.
2. A response sent before the request body has arrived (a 401 to a POST before anything
   read its body) leaves the connection mid-request; Hypercorn can then only close it,
   and a close with the client's bytes still unread may reset the connection before
   the client has read the answer. So the start of a response waits, at most until
   `BODY_TIMEOUT_SECS` after the request began, for the rest of the body (Quart keeps
   receiving it); if the body is not complete by then, or is bigger than the app
   accepts, the response carries `Connection: close` and Hypercorn closes after it.

The wrapped app must keep calling `receive` until `http.disconnect`, as Quart does.
Point 1 can go once Quart-Trio no longer cancels its own `send` (no upstream report of it
was found; Hypercorn issue #330, "Connection:close ignored?", reports the same symptom).

Example:
    asgi = keep_alive_guard(quart_app, body_timeout_secs=10.0, max_body_bytes=64 * 1024)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from safestream.web.transport import AsgiMessage, Receive, Send

__all__ = ["keep_alive_guard"]

Asgi = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

# Bounds the shielded end of a response; the bytes themselves are written by Hypercorn
# under its own shield, so this only limits its bookkeeping (timer, close, disconnect).
FINISH_SECS = 5.0


def keep_alive_guard(app: Asgi, *, body_timeout_secs: float, max_body_bytes: int) -> Asgi:
    """Wrap an ASGI app so that each HTTP response leaves its connection reusable or closed.

    Args:
        app: the ASGI app (Quart-Trio); non-HTTP scopes pass through untouched.
        body_timeout_secs: how long after the request began its body may still arrive.
        max_body_bytes: bodies bigger than this are not waited for.
    """

    async def guarded(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        exchange = _Exchange(
            receive,
            send,
            deadline=trio.current_time() + body_timeout_secs,
            max_body_bytes=max_body_bytes,
            declared_length=_content_length(scope),
        )
        await app(scope, exchange.receive, exchange.send)

    return guarded


class _Exchange:
    """One request and its response, watched through their ASGI messages."""

    def __init__(
        self,
        receive: Receive,
        send: Send,
        *,
        deadline: float,
        max_body_bytes: int,
        declared_length: int | None,
    ) -> None:
        self._receive = receive
        self._send = send
        self._deadline = deadline
        self._max_body_bytes = max_body_bytes
        self._received = 0
        self._complete = False
        # Set once waiting for more of the body is pointless: it is complete, too big,
        # or the client has gone.
        self._settled = trio.Event()
        if declared_length is not None and declared_length > max_body_bytes:
            self._settled.set()

    async def receive(self) -> AsgiMessage:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self._complete = True
                self._settled.set()
            elif self._received > self._max_body_bytes:
                self._settled.set()
        elif message["type"] == "http.disconnect":
            self._settled.set()
        return message

    async def send(self, message: AsgiMessage) -> None:
        if message["type"] == "http.response.start":
            with trio.move_on_at(self._deadline):
                await self._settled.wait()
            if not self._complete:
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await self._send(message)
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            with trio.CancelScope(shield=True, deadline=trio.current_time() + FINISH_SECS):
                await self._send(message)
        else:
            await self._send(message)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

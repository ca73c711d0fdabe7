"""What both WebSockets (chat and moderators' events) check first: Origin, then the token
(a first-frame handshake when it is not in the URL).

A client that keeps its token out of the URL sends `{"type":"auth","token":"..."}` as its
first frame within AUTH_TIMEOUT_SECS. Parsing goes through the sans-IO protocol, so a
malformed first frame is refused with a reason, never an exception.

Example:
    token = await token_from_first_frame(transport.receive, timeout=10, max_length=500)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import trio

from safestream.chat.protocol import AuthFrame, ProtocolError, parse_client_frame

__all__ = ["NoToken", "origin_allowed", "token_from_first_frame"]


class NoToken(Exception):
    """No usable auth frame arrived in time; the message is the close reason."""


async def token_from_first_frame(
    receive: Callable[[], Awaitable[str | bytes]],
    *,
    timeout: float,  # noqa: ASYNC109 - the handshake's deadline, a setting
    max_length: int,
) -> str:
    """The token of the first frame, which must be an auth frame.

    Raises:
        NoToken: the first frame is not a valid auth frame, or none came within `timeout`.
    """
    with trio.move_on_after(timeout):
        raw = await receive()
        try:
            frame = parse_client_frame(raw, max_message_length=max_length)
        except ProtocolError as exc:
            raise NoToken(f"expected an auth frame: {exc.code}") from exc
        if not isinstance(frame, AuthFrame):
            raise NoToken("expected an auth frame first")
        return frame.token
    raise NoToken("no token: send an auth frame or ?token=")


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin: allow a page of our own host (http or https: TLS may end at
    a proxy in front) and the configured origins; non-browser clients (no Origin) are
    allowed since they cannot be driven by another site. `null` and other schemes
    (file:, extensions) are refused."""
    if not origin:
        return True
    if origin in allowed or "*" in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host

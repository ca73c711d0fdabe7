"""`/api/admin/events`: the moderators' live feed, as Server-Sent Events or a WebSocket.

Events: `message` (every delivered or blocked message), `held`, `action` (every
moderator action), `metrics` (every second). A subscriber that falls a whole queue
behind is dropped; its stream ends and the client reconnects.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio
from quart import Blueprint, Response, websocket

from safestream.accounts.auth import Role
from safestream.chat.protocol import CloseCode
from safestream.moderation.feed import FeedEvent, Subscribe
from safestream.store.records import UserRecord
from safestream.web.deps import ApiError, documented, event_stream, user_from_token
from safestream.web.socket_auth import NoToken, origin_allowed, token_from_first_frame

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["events_routes"]


Decorator = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]


def events_routes(bp: Blueprint, ctx: AppContext, moderator: Decorator) -> None:
    """Add the feed's routes to the admin blueprint; `moderator` checks the role."""

    @bp.get("/events")
    @documented("moderation", {503: ["unavailable"]}, content="text/event-stream")
    @moderator
    async def events(user: UserRecord) -> Response:
        """The moderators' live feed (Server-Sent Events)

        Events `message`, `held`, `action`, and `metrics` every second. A subscriber
        that falls a whole queue behind is dropped; reconnect.
        """
        channel = await _subscribe(ctx)
        if channel is None:
            raise ApiError(503, "unavailable", "the moderator feed is busy or restarting")

        async def stream() -> AsyncIterator[bytes]:
            async with channel:
                yield b": connected\n\n"
                async for event in channel:
                    yield f"event: {event.kind}\ndata: {json.dumps(event.data)}\n\n".encode()

        return event_stream(stream())

    @bp.websocket("/events/ws")
    async def events_socket() -> None:
        # The same live events as a WebSocket: `?token=` or a first `{"type":"auth"}` frame.
        token = websocket.args.get("token")
        await websocket.accept()
        origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
        if not origin_allowed(origin, host, ctx.settings.allowed_origins):
            await websocket.close(CloseCode.POLICY_VIOLATION, "origin not allowed")
            return
        if not token:
            try:
                token = await token_from_first_frame(
                    websocket.receive,
                    timeout=ctx.settings.auth_timeout_secs,
                    max_length=ctx.settings.max_message_length,
                )
            except NoToken as exc:
                await websocket.close(CloseCode.POLICY_VIOLATION, str(exc))
                return
        try:
            user = await user_from_token(ctx, str(token or ""))
        except ApiError as exc:
            await websocket.close(CloseCode.POLICY_VIOLATION, exc.detail)
            return
        if not Role(user.role).allows(Role.MODERATOR):
            await websocket.close(CloseCode.POLICY_VIOLATION, "this needs the moderator role")
            return
        channel = await _subscribe(ctx)
        if channel is None:
            await websocket.close(CloseCode.TRY_AGAIN_LATER, "moderator feed unavailable")
            return
        async with channel:
            async for event in channel:
                await websocket.send(json.dumps({"type": event.kind, "data": event.data}))


async def _subscribe(ctx: AppContext) -> trio.MemoryReceiveChannel[FeedEvent] | None:
    """A new feed subscription, or None while the feed restarts or is full of subscribers."""
    ref = ctx.system.lookup("feed")
    if ref is None:
        return None
    channel: trio.MemoryReceiveChannel[FeedEvent] | None = await ref.ask(Subscribe(), timeout=5.0)
    return channel

"""The chat WebSocket `/ws/{username}`: handshake, then one Connection actor per socket.

The token may come (in order of preference, to keep it out of access logs) as a
subprotocol `token.<jwt>` next to `safestream`, as a first frame
`{"type":"auth","token":"..."}` within AUTH_TIMEOUT_SECS, or as `?token=` (as the
original). It must name the same user as the path. Query: `room` (default `main`),
`since` (last seq seen, to recover missed messages), `batch=1` (one frame per tick
carrying a JSON array of events, instead of one frame per event). Failures close with
a documented code and reason (docs/protocol.md).

Example:
    ws://127.0.0.1:8000/ws/ann?room=main&since=41   then   {"type":"auth","token":"..."}
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from actors import ActorError
from safestream.accounts.auth import Role
from safestream.chat.connection import Connection, Identity, serve_connection
from safestream.chat.limits import LimitExceeded
from safestream.chat.protocol import CloseCode
from safestream.chat.room_supervisor import InvalidRoom, validate_room_name
from safestream.chat.transport import TransportClosed
from safestream.web.deps import ApiError, user_from_token
from safestream.web.socket_auth import NoToken, origin_allowed, token_from_first_frame
from safestream.web.transport import WebSocketUpgrade

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["chat_socket"]

SUBPROTOCOL = "safestream"
TOKEN_PREFIX = "token."


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def chat_socket(ctx: AppContext, transport: WebSocketUpgrade) -> None:
    """Serve one chat WebSocket until it closes."""
    offered = transport.subprotocols
    await transport.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
    ip = transport.remote_addr
    try:
        ctx.limits.acquire_ip(ip)  # counted while it authenticates, too
    except LimitExceeded as exc:
        await transport.close(CloseCode.TRY_AGAIN_LATER, str(exc))
        return
    try:
        await _authenticated(ctx, transport)
    finally:
        ctx.limits.release_ip(ip)


async def _authenticated(ctx: AppContext, transport: WebSocketUpgrade) -> None:
    try:
        identity, room, since = await _handshake(ctx, transport)
    except Refused as refused:
        ctx.metrics.refused[f"ws_{refused.code}"] += 1
        await transport.close(refused.code, refused.reason)
        return
    except TransportClosed:
        return
    try:
        ctx.limits.acquire_user(identity.user)
    except LimitExceeded as exc:
        await transport.close(CloseCode.TRY_AGAIN_LATER, str(exc))
        return
    try:
        connection = Connection(
            ctx.next_conn_id(),
            transport,
            identity,
            room,
            since,
            settings=ctx.settings,
            metrics=ctx.metrics,
            rooms=ctx.address("rooms"),
        )
        await serve_connection(ctx.address("connections"), connection)
    except ActorError:
        await transport.close(CloseCode.TRY_AGAIN_LATER, "server is not accepting chats now")
    finally:
        ctx.limits.release_user(identity.user)
        # A Connection that crashed before closing its socket leaves it to us (no-op
        # when the socket is already closed).
        await transport.close(CloseCode.INTERNAL_ERROR, "internal error")


async def _handshake(
    ctx: AppContext, transport: WebSocketUpgrade
) -> tuple[Identity, str, int | None]:
    settings = ctx.settings
    if not origin_allowed(
        transport.headers.get("origin"), transport.headers.get("host"), settings.allowed_origins
    ):
        raise Refused(CloseCode.POLICY_VIOLATION, "origin not allowed")
    username = unquote(transport.path.removeprefix("/ws/"))
    try:
        room = validate_room_name(transport.query.get("room", "main"))
    except InvalidRoom as exc:
        raise Refused(CloseCode.POLICY_VIOLATION, str(exc)) from exc
    since = _since(transport.query.get("since"))
    transport.batched = _batched(transport.query.get("batch"))
    token = _token_from_handshake(transport) or await _token_from_first_frame(ctx, transport)
    try:
        user = await user_from_token(ctx, token)
    except ApiError as exc:
        raise Refused(CloseCode.POLICY_VIOLATION, exc.detail) from exc
    if user.username != username:
        raise Refused(CloseCode.POLICY_VIOLATION, "token does not match the username")
    stored_ban = (
        user.banned_until is not None and user.banned_until.timestamp() > ctx.sanctions.now()
    )
    if stored_ban or ctx.sanctions.banned(user.username):
        raise Refused(CloseCode.BANNED, "you are banned")
    return Identity(user.username, Role(user.role).value, transport.remote_addr), room, since


def _since(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Refused(CloseCode.POLICY_VIOLATION, "since must be a non-negative integer")
    return int(raw)


def _batched(raw: str | None) -> bool:
    if raw not in (None, "", "0", "1"):
        raise Refused(CloseCode.POLICY_VIOLATION, "batch must be 0 or 1")
    return raw == "1"


def _token_from_handshake(transport: WebSocketUpgrade) -> str | None:
    for proto in transport.subprotocols:
        if proto.startswith(TOKEN_PREFIX):
            return proto.removeprefix(TOKEN_PREFIX)
    return transport.query.get("token") or None


async def _token_from_first_frame(ctx: AppContext, transport: WebSocketUpgrade) -> str:
    settings = ctx.settings
    try:
        return await token_from_first_frame(
            transport.receive,
            timeout=settings.auth_timeout_secs,
            max_length=settings.max_message_length,
        )
    except NoToken as exc:
        raise Refused(CloseCode.POLICY_VIOLATION, str(exc)) from exc

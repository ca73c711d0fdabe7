"""Request helpers shared by route modules: errors, the current user, route documentation.

Every refusal is an `ApiError`, rendered as `{"detail": "...", "error": "<code>"}` with
its HTTP status (`detail` as the original FastAPI server did, `error` machine-readable).
Bodies and query strings are validated by Quart-Schema against `safestream.web.models`
before a route runs; `authenticated` runs before that, so a request without the role is
refused (401/403) whatever its body.

Example:
    @bp.post("/mute")
    @documented("moderation", {404: ["user_not_found"]})
    @authenticated(ctx, Role.MODERATOR)
    @validate_request(MuteRequest)
    async def mute(data: MuteRequest, user: UserRecord) -> MuteResult:
        \"\"\"Mute a user (the first docstring line is the operation's summary).\"\"\"
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from quart import Response, request
from quart_schema import RequestSchemaValidationError, security_scheme
from quart_schema import tag as schema_tag
from quart_schema.conversion import model_load

from safestream.accounts.auth import InvalidToken, Role, decode_token
from safestream.chat.room_supervisor import ROOM_NAME
from safestream.store import repo
from safestream.store.records import UserRecord

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = [
    "CONTENT_ATTRIBUTE",
    "ERRORS_ATTRIBUTE",
    "OPTIONAL_BODY_ATTRIBUTE",
    "ROLE_ATTRIBUTE",
    "ApiError",
    "authenticated",
    "bearer_token",
    "current_user",
    "documented",
    "event_stream",
    "is_banned",
    "is_muted",
    "load_body",
    "room_name",
    "user_from_token",
]

ROLE_ATTRIBUTE = "_safestream_role"
ERRORS_ATTRIBUTE = "_safestream_errors"
OPTIONAL_BODY_ATTRIBUTE = "_safestream_optional_body"
CONTENT_ATTRIBUTE = "_safestream_content"

Handler = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An HTTP error with a JSON body."""

    def __init__(
        self, status: int, code: str, detail: str, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "error": self.code}


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "not_authenticated", "missing bearer token")
    return token.strip()


async def user_from_token(ctx: AppContext, token: str) -> UserRecord:
    """The stored user a token names (its role read fresh from the database).

    Raises:
        ApiError: 401 for a bad/expired token or a user that no longer exists.
    """
    settings = ctx.settings
    try:
        claims = decode_token(token, secret=settings.jwt_secret_key, issuer=settings.jwt_issuer)
    except InvalidToken as exc:
        raise ApiError(401, "invalid_token", f"invalid token: {exc.reason}") from exc
    user = await ctx.db.run(repo.get_user, claims.username)
    if user is None:
        raise ApiError(401, "invalid_token", "user no longer exists")
    return user


def is_banned(ctx: AppContext, user: UserRecord) -> bool:
    """Banned by the stored record (the source of truth) or this node's sanctions."""
    now = ctx.sanctions.now()
    stored = user.banned_until is not None and user.banned_until.timestamp() > now
    return stored or ctx.sanctions.banned(user.username)


def is_muted(ctx: AppContext, user: UserRecord) -> bool:
    """Muted by the stored record or this node's sanctions."""
    until = user.muted_until
    stored = until is not None and until > datetime.fromtimestamp(ctx.sanctions.now(), UTC)
    return stored or ctx.sanctions.muted_for(user.username) > 0


async def current_user(
    ctx: AppContext, required: Role = Role.VIEWER, *, acting: bool = True
) -> UserRecord:
    """The authenticated user; 401 without a valid token, 403 without the role.

    Args:
        acting: the route does something (every route but `/auth/me`): a banned user is
            refused with 403 `banned`.
    """
    user = await user_from_token(ctx, bearer_token())
    if not Role(user.role).allows(required):
        raise ApiError(403, "forbidden", f"this needs the {required.value} role")
    if acting and is_banned(ctx, user):
        raise ApiError(403, "banned", "you are banned")
    return user


def authenticated(
    ctx: AppContext, role: Role = Role.VIEWER, *, acting: bool = True
) -> Callable[[Handler], Handler]:
    """Decorator: check the token and role first, then call the route with `user=`.

    Put it above Quart-Schema's `validate_*` decorators so authentication comes before
    validation. It marks the route for the OpenAPI document (bearer scheme, role).
    """

    def decorator(func: Handler) -> Handler:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = await current_user(ctx, role, acting=acting)
            return await func(*args, user=user, **kwargs)

        setattr(wrapper, ROLE_ATTRIBUTE, role)
        return security_scheme([{"bearerAuth": []}])(wrapper)

    return decorator


def documented(
    tag: str,
    errors: Mapping[int, Sequence[str]] | None = None,
    *,
    optional_body: bool = False,
    content: str | None = None,
) -> Callable[[F], F]:
    """Decorator: the route's tag and the error codes it answers besides the generic ones.

    Authentication (401/403), body (400/413/415/422) and query (422) errors are added to
    the document from the route's other decorators; list only the route's own here.

    Args:
        optional_body: the route's request body may be left out.
        content: the media type of an answer that is not JSON (a page, a stream).
    """

    def decorator(func: F) -> F:
        setattr(func, ERRORS_ATTRIBUTE, dict(errors or {}))
        setattr(func, OPTIONAL_BODY_ATTRIBUTE, optional_body)
        if content is not None:
            setattr(func, CONTENT_ATTRIBUTE, content)
        return schema_tag([tag])(func)

    return decorator


def load_body(model: type[M], data: Any) -> M:
    """`data` validated as `model`, for the routes that read their body themselves.

    Raises:
        RequestSchemaValidationError: rendered as 422 like any other body.
    """
    return model_load(data, model, RequestSchemaValidationError)


def room_name(value: str) -> str:
    """A room name from a URL path, or 422 `invalid_room` (the whole value must match)."""
    if not ROOM_NAME.fullmatch(value):
        raise ApiError(422, "invalid_room", "room names are 1-40 letters, digits, '_' or '-'")
    return value


def event_stream(chunks: AsyncIterator[bytes]) -> Response:
    """A Server-Sent Events response that is never cached nor timed out."""
    response = Response(chunks, content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.timeout = None
    return response

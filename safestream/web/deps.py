"""Request helpers shared by route modules: JSON errors, bodies, the current user.

Every refusal is an `ApiError`, rendered as `{"detail": "...", "error": "<code>"}` with
its HTTP status (`detail` as the original FastAPI server did, `error` machine-readable).

Example:
    user = await current_user(ctx, required=Role.MODERATOR)
    body = await json_body()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from quart import Response, request

from safestream.accounts.auth import InvalidToken, Role, decode_token
from safestream.store import repo
from safestream.store.records import UserRecord

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = [
    "ApiError",
    "bearer_token",
    "current_user",
    "event_stream",
    "int_arg",
    "json_body",
    "user_from_token",
]


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


async def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400/415 ApiError."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send a JSON body (application/json)")
    data = await request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "body must be a JSON object")
    return data


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


async def current_user(ctx: AppContext, required: Role = Role.VIEWER) -> UserRecord:
    """The authenticated user; 401 without a valid token, 403 without the role."""
    user = await user_from_token(ctx, bearer_token())
    if not Role(user.role).allows(required):
        raise ApiError(403, "forbidden", f"this needs the {required.value} role")
    return user


def event_stream(chunks: AsyncIterator[bytes]) -> Response:
    """A Server-Sent Events response that is never cached nor timed out."""
    response = Response(chunks, content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.timeout = None
    return response


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query argument within [low, high], or a 422 ApiError."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_query", f"{name} must be an integer") from exc
    if not low <= value <= high:
        raise ApiError(422, "invalid_query", f"{name} must be between {low} and {high}")
    return value

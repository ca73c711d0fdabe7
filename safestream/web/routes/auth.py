"""`/auth/*`: register, log in (OAuth2 password form, as the original), who am I.

Example:
    curl -X POST localhost:8000/auth/register -H 'Content-Type: application/json' \
         -d '{"username":"ann","password":"correct horse","email":"ann@example.org"}'
    curl -X POST localhost:8000/auth/login -d 'username=ann&password=correct horse'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio
from quart import Blueprint, request

from safestream.accounts.auth import InvalidPassword, InvalidUsername
from safestream.accounts.users import LoginFailed, login, register
from safestream.store.errors import UserExists
from safestream.store.records import UserRecord
from safestream.web.deps import ApiError, current_user, json_body

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["auth_blueprint", "user_json"]

MAX_EMAIL_LENGTH = 254


def user_json(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "banned_until": user.banned_until.isoformat() if user.banned_until else None,
    }


def throttle(ctx: AppContext, *keys: str) -> None:
    """Refuse with 429 when any key (IP, username) spent its LOGIN_ATTEMPTS_PER_MINUTE.

    Slows password guessing against one account from many IPs, and against many
    accounts from one IP; bcrypt's cost makes each attempt expensive for us too.
    """
    now = trio.current_time()
    waits = [ctx.login_attempts.take(key, now=now) for key in keys]
    if any(waits):
        retry = max(waits)
        raise ApiError(
            429, "too_many_attempts", f"too many attempts, retry in {retry:.0f} seconds", retry
        )


def auth_blueprint(ctx: AppContext) -> Blueprint:
    bp = Blueprint("auth", __name__, url_prefix="/auth")

    @bp.post("/register")
    async def register_route() -> tuple[dict[str, Any], int]:
        body = await json_body()
        username, password, email = body.get("username"), body.get("password"), body.get("email")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(422, "invalid_request", "username and password must be strings")
        if email is not None and (
            not isinstance(email, str) or len(email) > MAX_EMAIL_LENGTH or "@" not in email
        ):
            raise ApiError(422, "invalid_email", "email must look like name@host")
        throttle(ctx, f"ip:{request.remote_addr}")
        try:
            user = await register(ctx.db, ctx.settings, username, email, password)
        except InvalidUsername as exc:
            raise ApiError(422, "invalid_username", str(exc)) from exc
        except InvalidPassword as exc:
            raise ApiError(422, "invalid_password", str(exc)) from exc
        except UserExists as exc:
            raise ApiError(409, "user_exists", "username already registered") from exc
        return user_json(user), 200

    @bp.post("/login")
    async def login_route() -> dict[str, Any]:
        if request.is_json:
            data: Any = await json_body()
        else:
            data = await request.form
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            raise ApiError(422, "invalid_request", "username and password are required")
        throttle(ctx, f"ip:{request.remote_addr}", f"user:{username[:100]}")
        try:
            token, user = await login(ctx.db, ctx.settings, username, password)
        except LoginFailed as exc:
            raise ApiError(401, "login_failed", "incorrect username or password") from exc
        return {
            "access_token": token,
            "token_type": "bearer",
            "username": user.username,
            "role": user.role,
            "expires_in": ctx.settings.jwt_expire_minutes * 60,
        }

    @bp.get("/me")
    async def me_route() -> dict[str, Any]:
        return user_json(await current_user(ctx))

    return bp

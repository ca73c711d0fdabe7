"""`/auth/*`: register, log in (OAuth2 password form, as the original), who am I.

Registering answers what the original answered, a bearer token with the username, so
its client is logged in at once (plus the new user's record).

Example:
    curl -X POST localhost:8000/auth/register -H 'Content-Type: application/json' \
         -d '{"username":"ann","password":"correct horse","email":"ann@example.org"}'
    curl -X POST localhost:8000/auth/login -d 'username=ann&password=correct horse'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio
from quart import Blueprint, request
from quart_schema import DataSource, document_request, validate_request, validate_response

from safestream.accounts.auth import InvalidPassword, InvalidUsername, Role
from safestream.accounts.users import LoginFailed, issue_access_token, login, register
from safestream.store.errors import UserExists
from safestream.store.records import UserRecord
from safestream.web.deps import ApiError, authenticated, documented, load_body
from safestream.web.models import LoginRequest, RegisterRequest
from safestream.web.models.responses import Registered, Token, User

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["auth_blueprint", "user_model"]


def user_model(user: UserRecord) -> User:
    return User(
        id=user.id,
        username=user.username,
        email=user.email,
        role=Role(user.role).value,
        created_at=user.created_at,
        banned_until=user.banned_until,
    )


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

    def token(user: UserRecord, access_token: str) -> Token:
        return Token(
            access_token=access_token,
            username=user.username,
            role=Role(user.role).value,
            expires_in=ctx.settings.jwt_expire_minutes * 60,
        )

    @bp.post("/register")
    @documented(
        "auth",
        {
            409: ["user_exists"],
            422: ["invalid_username", "invalid_password"],
            429: ["too_many_attempts"],
        },
    )
    @validate_request(RegisterRequest)
    @validate_response(Registered)
    async def register_route(data: RegisterRequest) -> Registered:
        """Create a viewer account, logged in

        Answers a bearer token as `POST /auth/login` does (what the original answered,
        so its client logs the newcomer in), with the new user's record.
        """
        throttle(ctx, f"ip:{request.remote_addr}")
        try:
            user = await register(ctx.db, ctx.settings, data.username, data.email, data.password)
        except InvalidUsername as exc:
            raise ApiError(422, "invalid_username", str(exc)) from exc
        except InvalidPassword as exc:
            raise ApiError(422, "invalid_password", str(exc)) from exc
        except UserExists as exc:
            raise ApiError(409, "user_exists", "username already registered") from exc
        return Registered(
            **token(user, issue_access_token(ctx.settings, user)).model_dump(),
            id=user.id,
            email=user.email,
            created_at=user.created_at,
        )

    @bp.post("/login")
    @documented("auth", {401: ["login_failed"], 429: ["too_many_attempts"]})
    @document_request(LoginRequest, source=DataSource.FORM)
    @validate_response(Token)
    async def login_route() -> Token:
        """Log in: a bearer token

        OAuth2 password form (as the original) or the same fields as JSON. Attempts are
        limited per IP and per username (429 with Retry-After).
        """
        data: Any
        if request.is_json:
            data = await request.get_json()
        else:
            data = (await request.form).to_dict()
        body = load_body(LoginRequest, data)
        throttle(ctx, f"ip:{request.remote_addr}", f"user:{body.username[:100]}")
        try:
            access_token, user = await login(ctx.db, ctx.settings, body.username, body.password)
        except LoginFailed as exc:
            raise ApiError(401, "login_failed", "incorrect username or password") from exc
        return token(user, access_token)

    @bp.get("/me")
    @documented("auth")
    @authenticated(ctx, acting=False)
    @validate_response(User)
    async def me_route(user: UserRecord) -> User:
        """The current user (banned users too, so a client can say why it is refused)"""
        return user_model(user)

    return bp

"""User accounts: registration, login, roles and the demo accounts.

Shared by the HTTP routes and the CLI. bcrypt runs in a worker thread under the named
`bcrypt` CapacityLimiter given by the caller; the database through `Database.run`.

Example:
    user = await register(db, settings, "ann", "a@example.org", "correct horse battery")
    token, user = await login(db, settings, "ann", "correct horse battery")
"""

from __future__ import annotations

from functools import partial

import trio

from safestream.accounts.auth import (
    Role,
    hash_password,
    issue_token,
    validate_password,
    validate_username,
    verify_password,
)
from safestream.settings import Settings
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.records import UserRecord

__all__ = ["DEMO_ACCOUNTS", "LoginFailed", "ensure_demo_accounts", "login", "register"]

# Only ever created in demo mode; the password is the username (as the original).
DEMO_ACCOUNTS = (
    ("demo_user", Role.VIEWER),
    ("test_streamer", Role.ADMIN),
    ("chat_viewer", Role.VIEWER),
)

# A real bcrypt hash to compare against when the user does not exist, so a login for an
# unknown name costs the same time as a wrong password (no user enumeration by timing).
_DUMMY_HASH = "$2b$12$C6UzMDM.H6dfI/f/IKxGhuJ0s9G1n6HTJr6cKfVX4g2kxkPdQWYay"


class LoginFailed(Exception):
    """Wrong username or password (deliberately not saying which)."""


async def register(
    db: Database,
    settings: Settings,
    username: str,
    email: str | None,
    password: str,
    role: Role = Role.VIEWER,
) -> UserRecord:
    """Create a user after validating name and password.

    Raises:
        InvalidUsername, InvalidPassword, PasswordTooLong: bad input.
        UserExists: the name is taken.
    """
    validate_username(username, settings.max_username_length)
    validate_password(password, min_length=settings.min_password_length)
    hashed = await trio.to_thread.run_sync(
        partial(hash_password, password, rounds=settings.bcrypt_rounds)
    )
    return await db.run(repo.create_user, username, email, hashed, role.value)


async def login(
    db: Database, settings: Settings, username: str, password: str
) -> tuple[str, UserRecord]:
    """Check the password and issue an access token.

    Raises:
        LoginFailed: unknown user or wrong password.
    """
    user = await db.run(repo.get_user, username)
    hashed = user.password_hash if user else _DUMMY_HASH
    ok = await trio.to_thread.run_sync(verify_password, password, hashed)
    if user is None or not ok:
        raise LoginFailed("incorrect username or password")
    return issue_access_token(settings, user), user


def issue_access_token(settings: Settings, user: UserRecord) -> str:
    return issue_token(
        user.username,
        user.role,
        secret=settings.jwt_secret_key,
        expire_minutes=settings.jwt_expire_minutes,
        issuer=settings.jwt_issuer,
    )


async def ensure_demo_accounts(db: Database, settings: Settings) -> None:
    """Create the demo accounts that do not exist yet (demo mode only)."""
    if not settings.demo:
        raise RuntimeError("demo accounts exist only in demo mode")
    rounds = settings.bcrypt_rounds
    for name, role in DEMO_ACCOUNTS:
        if await db.run(repo.get_user, name) is None:
            hashed = await trio.to_thread.run_sync(partial(hash_password, name, rounds=rounds))
            await db.run(repo.create_user, name, f"{name}@demo.invalid", hashed, role.value)

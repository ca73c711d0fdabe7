"""Authentication helpers: password hashing, username rules, JWTs and roles.

Pure functions with no web framework and no I/O, so routes, the CLI and tests share
them. bcrypt is deliberately slow: call :func:`hash_password` and
:func:`verify_password` from ``trio.to_thread.run_sync`` under a ``CapacityLimiter``,
never on the event loop.

Example::

    hashed = hash_password("correct horse battery")
    assert verify_password("correct horse battery", hashed)
    token = issue_token("alice", Role.MODERATOR, secret=key, expire_minutes=60)
    claims = decode_token(token, secret=key)
    assert claims.role.allows(Role.VIEWER)

Every failure raises a subclass of :class:`AuthError`; the value errors
(:class:`InvalidUsername`, :class:`InvalidPassword`, :class:`PasswordTooLong`,
:class:`WeakSecret`) are also :class:`ValueError`.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt

__all__ = [
    "BCRYPT_MAX_BYTES",
    "DEFAULT_BCRYPT_ROUNDS",
    "JWT_ALGORITHM",
    "MIN_SECRET_BYTES",
    "AuthError",
    "InvalidPassword",
    "InvalidToken",
    "InvalidUsername",
    "PasswordTooLong",
    "Role",
    "TokenClaims",
    "WeakSecret",
    "decode_token",
    "hash_password",
    "issue_token",
    "username_key",
    "validate_password",
    "validate_username",
    "verify_password",
]

BCRYPT_MAX_BYTES = 72
"""bcrypt only reads this many bytes of a password; longer ones are refused, not cut."""
DEFAULT_BCRYPT_ROUNDS = 12
JWT_ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
"""RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output."""

_USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]+")


class AuthError(Exception):
    """Base class of every error raised by this module."""


class InvalidUsername(AuthError, ValueError):
    """The username breaks a rule; the message says which."""


class InvalidPassword(AuthError, ValueError):
    """The password breaks a rule; the message says which."""


class PasswordTooLong(InvalidPassword):
    """The password is longer than bcrypt's 72-byte limit (counted in UTF-8 bytes)."""


class WeakSecret(AuthError, ValueError):
    """The JWT signing secret is missing or shorter than :data:`MIN_SECRET_BYTES`."""


class InvalidToken(AuthError):
    """A token was rejected. ``reason`` is a short, client-safe explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Role(enum.StrEnum):
    """User roles, ordered ``VIEWER < MODERATOR < ADMIN``.

    A ``StrEnum`` so a role stores and serialises as its plain name. Ordering uses the
    rank, not the string (``"admin" < "viewer"`` as strings); comparing with a plain
    string parses it as a role first and raises ``ValueError`` for an unknown name.
    """

    VIEWER = "viewer"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for moderator, 2 for admin."""
        return _ROLE_ORDER.index(self)

    def allows(self, required: Role | str) -> bool:
        """Return whether this role may do what ``required`` may do."""
        return self.rank >= Role(required).rank

    def __lt__(self, other: object) -> bool:
        return self.rank < _other_rank(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _other_rank(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _other_rank(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _other_rank(other)


_ROLE_ORDER = (Role.VIEWER, Role.MODERATOR, Role.ADMIN)


def _other_rank(other: object) -> int:
    if isinstance(other, str):
        return Role(other).rank
    raise TypeError(f"cannot compare Role with {type(other).__name__}")


# -- passwords -------------------------------------------------------------------------


def _password_bytes(password: str) -> bytes:
    data = password.encode("utf-8")
    if len(data) > BCRYPT_MAX_BYTES:
        raise PasswordTooLong(
            f"password is {len(data)} bytes in UTF-8; at most {BCRYPT_MAX_BYTES} are allowed "
            "(accented letters and emoji count as 2-4 bytes each)"
        )
    return data


def validate_password(password: str, *, min_length: int) -> str:
    """Check a new password and return it unchanged.

    Args:
        password: the candidate password.
        min_length: minimum number of characters (the app's policy, e.g. 8).

    Raises:
        InvalidPassword: shorter than ``min_length`` characters or only whitespace.
        PasswordTooLong: longer than 72 bytes in UTF-8.
    """
    if len(password) < min_length:
        raise InvalidPassword(f"password must be at least {min_length} characters")
    if password and not password.strip():
        raise InvalidPassword("password must not be only whitespace")
    _password_bytes(password)
    return password


def hash_password(password: str, *, rounds: int = DEFAULT_BCRYPT_ROUNDS) -> str:
    """Hash ``password`` with bcrypt and return the ``$2b$...`` string.

    Args:
        password: the plain password; at most 72 UTF-8 bytes.
        rounds: bcrypt cost factor (4..31); tests use 4.

    Raises:
        PasswordTooLong: the password is longer than 72 UTF-8 bytes. It is never
            silently truncated.
    """
    data = _password_bytes(password)
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=rounds)).decode("ascii")


def verify_password(password: str, hashed: str) -> bool:
    """Return whether ``password`` matches the bcrypt hash ``hashed``.

    A password over the 72-byte limit cannot match any hash made by
    :func:`hash_password`, so it returns ``False``; so does a malformed hash.
    """
    try:
        data = _password_bytes(password)
        return bcrypt.checkpw(data, hashed.encode("ascii"))
    except (PasswordTooLong, ValueError, UnicodeEncodeError):
        return False


# -- usernames -------------------------------------------------------------------------


def validate_username(name: str, max_length: int = 50) -> str:
    """Check a username and return it unchanged.

    Rules: 1 to ``max_length`` characters from ``A-Z a-z 0-9 _ . -``, not starting
    with ``.`` or ``-``. Case is kept and significant.

    Raises:
        InvalidUsername: with the rule that failed.
    """
    if not name:
        raise InvalidUsername("username must not be empty")
    if len(name) > max_length:
        raise InvalidUsername(f"username must be at most {max_length} characters")
    if not _USERNAME_RE.fullmatch(name):
        raise InvalidUsername("username may only contain letters A-Z, digits, '_', '.' and '-'")
    if name[0] in ".-":
        raise InvalidUsername("username must not start with '.' or '-'")
    return name


# Letter sequences that read alike in most fonts (Unicode TR39's ASCII confusables).
_LOOK_ALIKE_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_LOOK_ALIKE_LETTERS = str.maketrans("01l|5$", "oiiiss", "._-")


def username_key(name: str) -> str:
    """What a username looks like to a reader: two names with the same key can be taken
    for each other (`ADMIN`, `padmin.`, `padrnin` and `padmin` all give `padmin`).

    Case, separators (`.`, `_`, `-`), `0`/`o`, `1`/`l`/`i`, `5`/`s`, and `rn`/`m`,
    `vv`/`w`, `cl`/`d` are folded. Registration refuses a name whose key is taken.

    Example:
        assert username_key("Pad_rnin") == username_key("padmin") == "padmin"
    """
    key = name.lower()
    for sequence, letter in _LOOK_ALIKE_SEQUENCES:
        key = key.replace(sequence, letter)
    return key.translate(_LOOK_ALIKE_LETTERS)


# -- tokens ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says."""

    username: str
    role: Role
    expires_at: datetime
    token_id: str | None = None


def _check_secret(secret: str) -> None:
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise WeakSecret(f"JWT secret must be at least {MIN_SECRET_BYTES} bytes for HS256")


def issue_token(
    username: str,
    role: Role | str,
    *,
    secret: str,
    expire_minutes: float,
    issuer: str = "safestream",
    now: datetime | None = None,
) -> str:
    """Sign an HS256 access token with claims ``sub, role, iat, exp, iss, jti``.

    Args:
        username: the subject.
        role: a :class:`Role` or its name.
        secret: HMAC key, at least 32 bytes.
        expire_minutes: lifetime; must be positive.
        issuer: the ``iss`` claim; :func:`decode_token` must be given the same.
        now: issue time (timezone-aware); defaults to the current time. Tests pass an
            old time to get an expired token.

    Raises:
        WeakSecret: the secret is too short.
        ValueError: unknown role, non-positive lifetime or naive ``now``.
    """
    _check_secret(secret)
    if expire_minutes <= 0:
        raise ValueError("expire_minutes must be positive")
    issued = datetime.now(UTC) if now is None else now
    if issued.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    payload = {
        "sub": username,
        "role": Role(role).value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=expire_minutes)).timestamp()),
        "iss": issuer,
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


def decode_token(
    token: str, *, secret: str, issuer: str = "safestream", leeway: float = 0
) -> TokenClaims:
    """Verify ``token`` and return its claims.

    The algorithm is pinned to HS256 (so ``alg: none`` and key-confusion tokens fail),
    and ``exp``, ``iat``, ``iss`` and ``sub`` are required.

    Raises:
        InvalidToken: expired, not yet valid, malformed, bad signature, wrong issuer,
            missing claim or unknown role; ``reason`` says which.
        WeakSecret: the secret is too short.
    """
    _check_secret(secret)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            issuer=issuer,
            leeway=leeway,
            options={"require": ["exp", "iat", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("token not yet valid") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("wrong issuer") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("bad signature") from None
    except jwt.InvalidAlgorithmError:
        raise InvalidToken("algorithm not allowed") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"missing claim {exc.claim!r}") from None
    except jwt.DecodeError:
        raise InvalidToken("malformed token") from None
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    role_name = claims.get("role")
    if role_name not in _ROLE_ORDER:
        raise InvalidToken("unknown role")
    role = Role(role_name)
    jti = claims.get("jti")
    return TokenClaims(
        username=claims["sub"],
        role=role,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        token_id=jti if isinstance(jti, str) else None,
    )

"""Passwords, usernames, tokens and roles (safestream.accounts.auth)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from safestream.accounts import auth
from safestream.accounts.auth import (
    AuthError,
    InvalidPassword,
    InvalidToken,
    InvalidUsername,
    PasswordTooLong,
    Role,
)

SECRET = "s" * 32
ROUNDS = 4  # bcrypt's minimum cost keeps the suite fast


# -- passwords -------------------------------------------------------------------------


def test_hash_and_verify_password() -> None:
    hashed = auth.hash_password("correct horse", rounds=ROUNDS)
    assert hashed.startswith("$2b$04$")
    assert auth.verify_password("correct horse", hashed)
    assert not auth.verify_password("correct horsE", hashed)
    assert auth.hash_password("correct horse", rounds=ROUNDS) != hashed  # salted


def test_verify_password_with_malformed_hash_is_false() -> None:
    assert not auth.verify_password("pw", "not-a-bcrypt-hash")
    assert not auth.verify_password("pw", "")


def test_password_of_exactly_72_bytes_is_accepted_and_every_byte_counts() -> None:
    pw = "a" * 71 + "b"
    hashed = auth.hash_password(pw, rounds=ROUNDS)
    assert auth.verify_password(pw, hashed)
    assert not auth.verify_password("a" * 72, hashed)


def test_password_of_73_bytes_is_rejected_not_truncated() -> None:
    with pytest.raises(PasswordTooLong, match="73 bytes"):
        auth.hash_password("a" * 73, rounds=ROUNDS)
    hashed = auth.hash_password("a" * 72, rounds=ROUNDS)
    assert not auth.verify_password("a" * 73, hashed)


def test_password_limit_counts_utf8_bytes_not_characters() -> None:
    # "é" is 2 bytes: 36 of them are 72 bytes, 37 are 74 bytes in only 37 characters.
    assert auth.verify_password("é" * 36, auth.hash_password("é" * 36, rounds=ROUNDS))
    with pytest.raises(PasswordTooLong):
        auth.hash_password("é" * 37, rounds=ROUNDS)
    # A 4-byte emoji pushes 69 ASCII bytes to 73.
    with pytest.raises(PasswordTooLong):
        auth.hash_password("a" * 69 + "\N{GRINNING FACE}", rounds=ROUNDS)


@pytest.mark.parametrize(
    ("refused", "kinds"),
    [
        (lambda: auth.hash_password("a" * 73, rounds=ROUNDS), (PasswordTooLong, InvalidPassword)),
        (lambda: auth.validate_password("short", min_length=8), (InvalidPassword,)),
        (lambda: auth.validate_username("has space", 50), (InvalidUsername,)),
    ],
    ids=["password_too_long", "password_too_short", "bad_username"],
)
def test_refused_input_is_both_an_auth_error_and_a_value_error(
    refused: Callable[[], object], kinds: tuple[type[Exception], ...]
) -> None:
    """Callers catch `AuthError` for every refusal, or `ValueError` for bad input."""
    with pytest.raises(AuthError) as info:
        refused()
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, kinds)


def test_a_refused_token_is_an_auth_error() -> None:
    with pytest.raises(AuthError) as info:
        auth.decode_token("garbage", secret=SECRET)
    assert isinstance(info.value, InvalidToken)


def test_validate_password_min_length_and_byte_limit() -> None:
    assert auth.validate_password("12345678", min_length=8) == "12345678"
    with pytest.raises(InvalidPassword, match="at least 8"):
        auth.validate_password("1234567", min_length=8)
    with pytest.raises(InvalidPassword, match="whitespace"):
        auth.validate_password(" " * 10, min_length=8)
    with pytest.raises(PasswordTooLong):
        auth.validate_password("x" * 73, min_length=8)
    assert auth.validate_password("x", min_length=1) == "x"  # demo mode may allow short


# -- usernames -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "alice", "Bob_99", "a.b-c", "_x", "9lives", "a" * 50])
def test_valid_usernames(name: str) -> None:
    assert auth.validate_username(name, 50) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("a" * 51, "at most 50"),
        (".hidden", "start"),
        ("-dash", "start"),
        ("has space", "only contain"),
        ("émile", "only contain"),
        ("bob\n", "only contain"),
        ("<script>", "only contain"),
    ],
)
def test_invalid_usernames_say_why(name: str, reason: str) -> None:
    with pytest.raises(InvalidUsername, match=reason):
        auth.validate_username(name, 50)


def test_username_length_edge_follows_max_length() -> None:
    assert auth.validate_username("a" * 20, max_length=20)
    with pytest.raises(InvalidUsername):
        auth.validate_username("a" * 21, max_length=20)


# -- tokens ----------------------------------------------------------------------------


def test_token_roundtrip() -> None:
    token = auth.issue_token("alice", Role.MODERATOR, secret=SECRET, expire_minutes=30)
    claims = auth.decode_token(token, secret=SECRET)
    assert claims.username == "alice"
    assert claims.role is Role.MODERATOR
    assert claims.token_id
    remaining = claims.expires_at - datetime.now(UTC)
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


def test_token_has_pinned_header_and_claims() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    token = auth.issue_token("bob", "admin", secret=SECRET, expire_minutes=1, now=now)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "bob"
    assert claims["role"] == "admin"
    assert claims["iss"] == "safestream"
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == int(now.timestamp()) + 60
    assert set(claims) == {"sub", "role", "iat", "exp", "iss", "jti"}


def test_expired_token_is_rejected_unless_within_leeway() -> None:
    old = datetime.now(UTC) - timedelta(minutes=10)
    token = auth.issue_token("alice", "viewer", secret=SECRET, expire_minutes=5, now=old)
    with pytest.raises(InvalidToken) as info:
        auth.decode_token(token, secret=SECRET)
    assert info.value.reason == "token expired"
    assert auth.decode_token(token, secret=SECRET, leeway=600).username == "alice"


def test_token_issued_in_the_future_is_rejected() -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    token = auth.issue_token("alice", "viewer", secret=SECRET, expire_minutes=5, now=later)
    with pytest.raises(InvalidToken, match="not yet valid"):
        auth.decode_token(token, secret=SECRET)


def test_wrong_secret_is_rejected() -> None:
    token = auth.issue_token("alice", "viewer", secret=SECRET, expire_minutes=5)
    with pytest.raises(InvalidToken, match="bad signature"):
        auth.decode_token(token, secret="t" * 32)


def test_wrong_issuer_is_rejected() -> None:
    token = auth.issue_token("alice", "viewer", secret=SECRET, expire_minutes=5, issuer="other")
    with pytest.raises(InvalidToken, match="wrong issuer"):
        auth.decode_token(token, secret=SECRET)
    assert auth.decode_token(token, secret=SECRET, issuer="other").username == "alice"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_token_is_rejected() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "mallory", "role": "admin", "iat": now, "exp": now + 600, "iss": "safestream"}
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(InvalidToken, match="algorithm"):
        auth.decode_token(token, secret=SECRET)


def test_other_hmac_algorithm_is_rejected() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "a", "role": "admin", "iat": now, "exp": now + 600, "iss": "safestream"}
    token = jwt.encode(claims, "k" * 64, algorithm="HS512")
    with pytest.raises(InvalidToken, match="algorithm"):
        auth.decode_token(token, secret="k" * 64)


@pytest.mark.parametrize("missing", ["exp", "iss", "sub", "iat"])
def test_token_missing_required_claim_is_rejected(missing: str) -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "a", "role": "viewer", "iat": now, "exp": now + 600, "iss": "safestream"}
    del claims[missing]
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken, match=missing):
        auth.decode_token(token, secret=SECRET)


def test_token_with_unknown_role_is_rejected() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "a", "role": "root", "iat": now, "exp": now + 600, "iss": "safestream"}
    with pytest.raises(InvalidToken, match="unknown role"):
        auth.decode_token(jwt.encode(claims, SECRET, algorithm="HS256"), secret=SECRET)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 500])
def test_malformed_token_is_rejected(token: str) -> None:
    with pytest.raises(InvalidToken):
        auth.decode_token(token, secret=SECRET)


def test_short_secret_is_refused() -> None:
    with pytest.raises(auth.WeakSecret):
        auth.issue_token("a", "viewer", secret="short", expire_minutes=5)
    with pytest.raises(auth.WeakSecret):
        auth.decode_token("x.y.z", secret="")


def test_issue_token_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        auth.issue_token("a", "root", secret=SECRET, expire_minutes=5)
    with pytest.raises(ValueError):
        auth.issue_token("a", "viewer", secret=SECRET, expire_minutes=0)
    with pytest.raises(ValueError):
        auth.issue_token("a", "viewer", secret=SECRET, expire_minutes=5, now=datetime(2030, 1, 1))


# -- roles -----------------------------------------------------------------------------


def test_roles_are_ordered_by_rank_not_by_name() -> None:
    assert Role.VIEWER < Role.MODERATOR < Role.ADMIN
    assert max(Role) is Role.ADMIN
    assert sorted([Role.ADMIN, Role.VIEWER, Role.MODERATOR]) == list(Role)
    assert Role.ADMIN > "viewer"
    assert f"{Role.ADMIN}" == "admin"
    assert Role("admin") is Role.ADMIN
    with pytest.raises(ValueError):
        _ = Role.ADMIN > "root"


def test_role_allows_same_or_lower() -> None:
    assert Role.ADMIN.allows(Role.MODERATOR)
    assert Role.MODERATOR.allows("moderator")
    assert Role.MODERATOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.MODERATOR)
    assert not Role.MODERATOR.allows("admin")

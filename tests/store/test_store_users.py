"""Users and rooms in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker

from safestream import store


def test_create_and_get_user_roundtrip(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        created = store.create_user(s, "alice", "alice@example.org", "$2b$hash", role="moderator")
    with sessions() as s:
        got = store.get_user(s, "alice")
    assert got == created
    assert got.role == "moderator"
    assert got.created_at.tzinfo is not None
    assert got.banned_until is None
    assert not got.is_banned()


def test_get_unknown_user_returns_none(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        assert store.get_user(s, "nobody") is None


def test_duplicate_username_raises_user_exists_and_keeps_transaction_usable(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        store.create_user(s, "alice", None, "h1")
    with sessions.begin() as s:
        with pytest.raises(store.UserExists) as info:
            store.create_user(s, "alice", "other@example.org", "h2")
        assert info.value.username == "alice"
        store.create_user(s, "bob", None, "h3")  # same transaction still works
    with sessions() as s:
        assert [u.username for u in store.list_users(s)] == ["alice", "bob"]
        alice = store.get_user(s, "alice")
        assert alice is not None
        assert alice.password_hash == "h1"


def test_lookups_are_exact_but_a_look_alike_of_a_name_cannot_register(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        store.create_user(s, "padmin", None, "h")
    for look_alike in ("PADMIN", "padmin.", "padrnin", "p_admin", "pAdm1n"):
        with sessions() as s, pytest.raises(store.UserExists):
            store.create_user(s, look_alike, None, "h")
    with sessions() as s:
        assert store.get_user(s, "PADMIN") is None  # lookups stay exact
        assert store.get_user(s, "padmin") is not None
        store.create_user(s, "padmine", None, "h")  # a different name is fine


def test_create_user_rejects_unknown_role(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, pytest.raises(ValueError, match="role"):
        store.create_user(s, "eve", None, "h", role="root")


def test_set_role_changes_role_and_rejects_unknown(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        store.create_user(s, "alice", None, "h")
    with sessions.begin() as s:
        assert store.set_role(s, "alice", "admin").role == "admin"
    with sessions() as s:
        user = store.get_user(s, "alice")
        assert user is not None
        assert user.role == "admin"
        with pytest.raises(ValueError):
            store.set_role(s, "alice", "superuser")
        with pytest.raises(store.UserNotFound):
            store.set_role(s, "ghost", "admin")


def test_set_ban_stores_aware_utc_and_clears(sessions: sessionmaker[Session]) -> None:
    until = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with sessions.begin() as s:
        store.create_user(s, "troll", None, "h")
        store.set_ban(s, "troll", until.astimezone(timezone(timedelta(hours=2))), "spam")
    with sessions() as s:
        user = store.get_user(s, "troll")
    assert user is not None
    assert user.banned_until == until
    assert user.banned_until.utcoffset() == timedelta(0)
    assert user.ban_reason == "spam"
    assert user.is_banned(now=datetime(2029, 1, 1, tzinfo=UTC))
    assert not user.is_banned(now=datetime(2031, 1, 1, tzinfo=UTC))
    with sessions.begin() as s:
        cleared = store.set_ban(s, "troll", None, "appeal")
    assert cleared.banned_until is None
    assert cleared.ban_reason is None


def test_set_ban_rejects_naive_datetime_and_unknown_user(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        with pytest.raises(ValueError, match="timezone"):
            store.set_ban(s, "x", datetime(2030, 1, 1), "r")
        with pytest.raises(store.UserNotFound):
            store.set_ban(s, "ghost", datetime(2030, 1, 1, tzinfo=UTC), "r")


def test_ensure_room_is_idempotent(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        first = store.ensure_room(s, "main")
    with sessions.begin() as s:
        second = store.ensure_room(s, "main")
    assert first == second
    assert first.policy is None
    assert first.policy_version == 0


def test_room_policy_versions_only_go_up(sessions: sessionmaker[Session]) -> None:
    policy = {"toxicity": {"hold": 0.7, "block": 0.95}}
    with sessions.begin() as s:
        saved = store.save_room_policy(s, "main", policy, 1)
    assert saved.policy == policy
    assert saved.policy_version == 1
    with sessions.begin() as s:
        store.save_room_policy(s, "main", policy, 1)  # same version, same policy: no-op
        store.save_room_policy(s, "main", {"toxicity": {"hold": 0.5}}, 2)
    with sessions() as s:
        with pytest.raises(store.StalePolicyVersion):
            store.save_room_policy(s, "main", policy, 1)
        with pytest.raises(store.StalePolicyVersion):
            store.save_room_policy(s, "main", policy, 2)
        assert store.ensure_room(s, "main").policy == {"toxicity": {"hold": 0.5}}


def test_mutes_and_bans_are_stored_and_listed_while_active(
    sessions: sessionmaker[Session],
) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with sessions.begin() as s:
        for name in ("ann", "bob", "cid"):
            store.create_user(s, name, None, "h")
        store.set_mute(s, "ann", now + timedelta(minutes=5))
        store.set_ban(s, "bob", now + timedelta(days=1), "spam")
        store.set_mute(s, "cid", now - timedelta(minutes=1))  # already over
    with sessions() as s:
        active = {u.username: u for u in store.active_sanctions(s, now)}
    assert set(active) == {"ann", "bob"}  # not cid: that mute is over
    assert active["ann"].muted_until == now + timedelta(minutes=5)
    assert active["ann"].banned_until is None
    assert active["bob"].banned_until == now + timedelta(days=1)
    assert active["bob"].muted_until is None
    with sessions.begin() as s:
        store.set_mute(s, "ann", None)
    with sessions() as s:
        assert [u.username for u in store.active_sanctions(s, now)] == ["bob"]

"""Users and rooms. Part of :mod:`safestream.store.repo`; import from there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safestream.accounts.auth import username_key

from .. import _convert as conv
from ..errors import StalePolicyVersion, UserExists, UserNotFound
from ..models import PolicyVersion, Room, User
from ..records import NAME_MAX_LENGTH, ROLES, RoomRecord, UserRecord


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, got {role!r}")


def _user(s: Session, username: str, *, for_update: bool = False) -> User:
    stmt = select(User).where(User.username == username)
    user = s.scalars(stmt.with_for_update() if for_update else stmt).one_or_none()
    if user is None:
        raise UserNotFound(username)
    return user


# -- users -----------------------------------------------------------------------------


def create_user(
    s: Session, username: str, email: str | None, password_hash: str, role: str = "viewer"
) -> UserRecord:
    """Add a user and return it.

    Uses ``INSERT ... ON CONFLICT DO NOTHING``, so a duplicate leaves the caller's
    transaction usable.

    Raises:
        UserExists: the username is taken, or an existing name looks the same
            (`accounts.auth.username_key`: case, separators and look-alike letters).
        ValueError: unknown role or username longer than the column.
    """
    _check_role(role)
    if not 0 < len(username) <= NAME_MAX_LENGTH:
        raise ValueError(f"username must be 1..{NAME_MAX_LENGTH} characters")
    key = username_key(username)
    if s.scalars(select(User.id).where(User.name_key == key).limit(1)).first() is not None:
        raise UserExists(username)
    now = datetime.now(UTC)
    stmt = (
        conv.insert_for(s, User)
        .values(
            username=username,
            name_key=key,
            email=email,
            password_hash=password_hash,
            role=role,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[User.username])
        .returning(User.id)
    )
    new_id = s.execute(stmt).scalar_one_or_none()
    if new_id is None:
        raise UserExists(username)
    return UserRecord(
        id=new_id,
        username=username,
        email=email,
        password_hash=password_hash,
        role=role,
        created_at=now,
    )


def get_user(s: Session, username: str) -> UserRecord | None:
    """Return the user called ``username``, or ``None``."""
    user = s.scalars(select(User).where(User.username == username)).one_or_none()
    return None if user is None else conv.user_record(user)


def list_users(s: Session) -> list[UserRecord]:
    """Return all users ordered by username."""
    return [conv.user_record(u) for u in s.scalars(select(User).order_by(User.username))]


def set_role(s: Session, username: str, role: str) -> UserRecord:
    """Change a user's role. Raises :class:`UserNotFound` or ``ValueError``."""
    _check_role(role)
    user = _user(s, username, for_update=True)
    user.role = role
    s.flush()
    return conv.user_record(user)


def set_ban(
    s: Session, username: str, until: datetime | None, reason: str | None = None
) -> UserRecord:
    """Ban a user until ``until`` (aware datetime), or lift the ban with ``None``.

    Raises :class:`UserNotFound`. The audit entry is the caller's, as an ``ActionRow``.
    """
    if until is not None and until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    user = _user(s, username, for_update=True)
    user.banned_until = until
    user.ban_reason = reason if until is not None else None
    s.flush()
    return conv.user_record(user)


def set_mute(s: Session, username: str, until: datetime | None) -> UserRecord:
    """Mute a user until ``until`` (aware datetime), or lift the mute with ``None``.

    Raises :class:`UserNotFound`. The audit entry is the caller's, as an ``ActionRow``.
    """
    if until is not None and until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    user = _user(s, username, for_update=True)
    user.muted_until = until
    s.flush()
    return conv.user_record(user)


def active_sanctions(s: Session, now: datetime) -> list[UserRecord]:
    """Users banned or muted beyond ``now`` (a node loads them when it starts)."""
    rows = s.scalars(
        select(User)
        .where(or_(User.banned_until > now, User.muted_until > now))
        .order_by(User.username)
    )
    return [conv.user_record(user) for user in rows]


# -- rooms -----------------------------------------------------------------------------


def ensure_rooms(s: Session, names: set[str]) -> None:
    if not names:
        return
    now = datetime.now(UTC)
    rows = [{"name": n, "created_at": now, "policy_version": 0} for n in sorted(names)]
    s.execute(conv.insert_for(s, Room).on_conflict_do_nothing(index_elements=[Room.name]), rows)


def ensure_room(s: Session, name: str) -> RoomRecord:
    """Return the room ``name``, creating it (no policy, version 0) if missing."""
    if not 0 < len(name) <= NAME_MAX_LENGTH:
        raise ValueError(f"room name must be 1..{NAME_MAX_LENGTH} characters")
    ensure_rooms(s, {name})
    return conv.room_record(s.scalars(select(Room).where(Room.name == name)).one())


def get_room(s: Session, name: str) -> RoomRecord | None:
    """Return the room ``name``, or ``None`` (never creates it)."""
    room = s.scalars(select(Room).where(Room.name == name)).one_or_none()
    return None if room is None else conv.room_record(room)


def save_room_policy(
    s: Session,
    name: str,
    policy: dict[str, Any],
    version: int,
    *,
    by: str | None = None,
    source: str = "edit",
) -> RoomRecord:
    """Store ``policy`` as version ``version`` of room ``name`` (created if missing),
    and in its history (``policy_versions``) with who saved it and how.

    Versions only go up: saving the stored version again with the same policy is a
    no-op, anything older or a different policy under the same version raises
    :class:`StalePolicyVersion`.
    """
    ensure_room(s, name)
    room = s.scalars(select(Room).where(Room.name == name).with_for_update()).one()
    if version < room.policy_version or (version == room.policy_version and room.policy != policy):
        raise StalePolicyVersion(name, room.policy_version, version)
    if version == room.policy_version:
        return conv.room_record(room)
    room.policy = dict(policy)
    room.policy_version = version
    s.add(
        PolicyVersion(
            room=name,
            version=version,
            policy=dict(policy),
            created_at=datetime.now(UTC),
            created_by=by,
            source=source[:200],
        )
    )
    s.flush()
    return conv.room_record(room)

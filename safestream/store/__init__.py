"""SafeStream's persistence layer: SQLAlchemy 2 on SQLite (WAL) or PostgreSQL.

Example::

    from safestream import store

    engine = store.make_engine("sqlite:///data/safestream.db")
    store.upgrade(engine)                     # Alembic migrations to head
    sessions = store.session_factory(engine)
    with sessions.begin() as s:
        store.create_user(s, "alice", "a@example.org", hashed, role="viewer")

Everything is synchronous and blocking; call it from ``trio.to_thread.run_sync`` with
a named ``CapacityLimiter`` and one session per call. Values go in and come out as the
frozen records of :mod:`safestream.store.records`; ORM classes stay inside.
"""

from __future__ import annotations

from .engine import alembic_config, make_engine, normalize_url, session_factory, upgrade
from .errors import (
    InvalidTransition,
    MessageNotFound,
    NoShadow,
    StalePolicyVersion,
    StoreError,
    UserExists,
    UserNotFound,
)
from .records import (
    MESSAGE_ACTIONS,
    MESSAGE_STATUSES,
    ROLES,
    ActionRecord,
    ActionRow,
    GiftRow,
    MessageRecord,
    MessageRow,
    RoomRecord,
    UserRecord,
)
from .repo import (
    STATUS_TRANSITIONS,
    active_sanctions,
    audit_log,
    create_user,
    ensure_room,
    get_message,
    get_user,
    gift_count,
    held_messages,
    insert_batch,
    last_seq,
    list_users,
    message_stats,
    recent_messages,
    room_history,
    save_room_policy,
    set_ban,
    set_mute,
    set_role,
    top_gifters,
    update_message_status,
)

__all__ = [
    "MESSAGE_ACTIONS",
    "MESSAGE_STATUSES",
    "ROLES",
    "STATUS_TRANSITIONS",
    "ActionRecord",
    "ActionRow",
    "GiftRow",
    "InvalidTransition",
    "MessageNotFound",
    "MessageRecord",
    "MessageRow",
    "NoShadow",
    "RoomRecord",
    "StalePolicyVersion",
    "StoreError",
    "UserExists",
    "UserNotFound",
    "UserRecord",
    "active_sanctions",
    "alembic_config",
    "audit_log",
    "create_user",
    "ensure_room",
    "get_message",
    "get_user",
    "gift_count",
    "held_messages",
    "insert_batch",
    "last_seq",
    "list_users",
    "make_engine",
    "message_stats",
    "normalize_url",
    "recent_messages",
    "room_history",
    "save_room_policy",
    "session_factory",
    "set_ban",
    "set_mute",
    "set_role",
    "top_gifters",
    "update_message_status",
    "upgrade",
]

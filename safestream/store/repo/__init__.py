"""Queries and writes: plain synchronous functions taking a ``Session``.

The caller owns the transaction; nothing here commits. The app runs these in worker
threads, one session per call::

    def _write(batch: Batch) -> None:
        with sessions.begin() as s:          # one transaction: group commit
            repo.insert_batch(s, batch.messages, batch.gifts, batch.actions)

    await trio.to_thread.run_sync(_write, batch, limiter=db_limiter)

Results are records from :mod:`safestream.store.records`, never ORM objects. Lists
come back in the order each function documents; ``limit`` is always applied in SQL.
"""

from __future__ import annotations

from .accounts import (
    active_sanctions,
    create_user,
    ensure_room,
    get_room,
    get_user,
    list_users,
    save_room_policy,
    set_ban,
    set_mute,
    set_role,
)
from .labels import count_labels, list_labels, save_label
from .messages import (
    STATUS_TRANSITIONS,
    audit_log,
    get_message,
    gift_count,
    held_messages,
    insert_batch,
    last_seq,
    message_stats,
    recent_messages,
    room_history,
    top_gifters,
    update_message_status,
)
from .policies import (
    active_shadow,
    active_shadows,
    attach_shadow,
    detach_shadow,
    policy_documents,
    policy_version,
    policy_versions,
    seq_before_last,
    set_message_why,
    shadow_disagreements,
    shadow_tally,
    window_count,
    window_messages,
)

__all__ = [
    "STATUS_TRANSITIONS",
    "active_sanctions",
    "active_shadow",
    "active_shadows",
    "attach_shadow",
    "audit_log",
    "count_labels",
    "create_user",
    "detach_shadow",
    "ensure_room",
    "get_message",
    "get_room",
    "get_user",
    "gift_count",
    "held_messages",
    "insert_batch",
    "last_seq",
    "list_labels",
    "list_users",
    "message_stats",
    "policy_documents",
    "policy_version",
    "policy_versions",
    "recent_messages",
    "room_history",
    "save_label",
    "save_room_policy",
    "seq_before_last",
    "set_ban",
    "set_message_why",
    "set_mute",
    "set_role",
    "shadow_disagreements",
    "shadow_tally",
    "top_gifters",
    "update_message_status",
    "window_count",
    "window_messages",
]

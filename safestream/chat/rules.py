"""Checks a room applies before accepting a post: mute, ban, slow mode, duplicate flood.

Sans-IO: time comes from the caller. Moderators and admins are exempt from slow mode and
the duplicate limit (they still can be muted). Per-user memory is pruned so it stays
bounded by the number of users active within the window.

Example:
    rules = PostRules()
    refusal = rules.check(post, policy, sanctions, now)
    if refusal is None:
        rules.accepted(post, now)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from safestream.accounts.auth import Role
from safestream.chat.room_messages import Post
from safestream.chat.sanctions import Sanctions
from safestream.moderation.policy import RoomPolicy

__all__ = ["PostRules", "Refusal"]

MAX_TRACKED_USERS = 10_000


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str


@dataclass
class PostRules:
    """Per-room memory of recent posts for slow mode and duplicate detection."""

    last_post: dict[str, float] = field(default_factory=dict)
    recent: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)

    def check(
        self, post: Post, policy: RoomPolicy, sanctions: Sanctions, now: float
    ) -> Refusal | None:
        """None when the post may go on; otherwise why not (sent as an error frame)."""
        if sanctions.banned(post.user):
            return Refusal("banned", "you are banned")
        muted = sanctions.muted_for(post.user)
        if muted > 0:
            return Refusal("muted", f"you are muted for {int(muted) + 1} more seconds")
        if Role(post.role).allows(Role.MODERATOR):
            return None
        last = self.last_post.get(post.user)
        if policy.slow_mode_secs and last is not None and now - last < policy.slow_mode_secs:
            wait = policy.slow_mode_secs - (now - last)
            return Refusal("slow_mode", f"slow mode: wait {wait:.1f} seconds")
        history = self.recent.get(post.user)
        if history:
            cutoff = now - policy.duplicate_window_secs
            same = sum(
                1 for stamp, text in history if stamp >= cutoff and text == post.text.lower()
            )
            if same >= policy.max_duplicates:
                return Refusal("duplicate", "you already sent this message several times")
        return None

    def accepted(self, post: Post, now: float, window: float = 60.0) -> None:
        """Remember an accepted post."""
        self.last_post[post.user] = now
        history = self.recent.setdefault(post.user, deque(maxlen=20))
        history.append((now, post.text.lower()))
        if len(self.last_post) > MAX_TRACKED_USERS:
            self._prune(now - window)

    def _prune(self, cutoff: float) -> None:
        for user in [u for u, stamp in self.last_post.items() if stamp < cutoff]:
            del self.last_post[user]
            self.recent.pop(user, None)

"""Mutes and bans known to this node, checked by rooms before a message is accepted.

Bans are also stored with the user (the source of truth at connect time); this object is
the fast in-memory view every room consults. It hangs off the app, never a global.

Example:
    sanctions = Sanctions(clock=time.time)
    sanctions.mute("ann", seconds=300)
    assert sanctions.muted_for("ann") > 0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

__all__ = ["Sanctions"]


class Sanctions:
    """User -> muted-until and banned-until (epoch seconds); expired entries vanish."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._muted: dict[str, float] = {}
        self._banned: dict[str, float] = {}
        # (table, user, until) held here but not stored, at the last `reconcile`
        self._unstored: set[tuple[str, str, float]] = set()

    def now(self) -> float:
        return self._clock()

    def mute(self, user: str, seconds: float) -> float:
        """Mute `user` for `seconds` from now; returns the epoch time it ends."""
        return self.mute_until(user, self._clock() + seconds)

    def mute_until(self, user: str, until: float) -> float:
        """Mute `user` until the epoch time `until` (e.g. a stored mute at start-up)."""
        self._muted[user] = until
        return until

    def unmute(self, user: str) -> None:
        self._muted.pop(user, None)

    def muted_for(self, user: str) -> float:
        """Seconds of mute left (0 when not muted)."""
        return self._left(self._muted, user)

    def ban(self, user: str, until: float = float("inf")) -> None:
        self._banned[user] = until

    def unban(self, user: str) -> None:
        self._banned.pop(user, None)

    def banned(self, user: str) -> bool:
        return self._left(self._banned, user) > 0

    def reconcile(self, mutes: Mapping[str, float], bans: Mapping[str, float]) -> int:
        """Agree with the stored sanctions (user -> until), the truth when a node's
        broadcast of a moderator's action was lost: stored ones apply here; one held
        here but not stored is lifted once it was already unstored, unchanged, at the
        previous call (a policy timeout is applied here first and stored a moment later,
        so it is never lifted in between). Returns how many entries changed."""
        changed = 0
        unstored: set[tuple[str, str, float]] = set()
        for name, table, stored in (("mute", self._muted, mutes), ("ban", self._banned, bans)):
            for user, until in stored.items():
                if table.get(user) != until:
                    table[user] = until
                    changed += 1
            for user, until in list(table.items()):
                if user in stored:
                    continue
                if (name, user, until) in self._unstored:
                    del table[user]
                    changed += 1
                else:
                    unstored.add((name, user, until))
        self._unstored = unstored
        return changed

    def _left(self, table: dict[str, float], user: str) -> float:
        until = table.get(user)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del table[user]
            return 0.0
        return left

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
        # Mutes applied here whose write to the database failed (policy timeouts):
        # `reconcile` keeps them, and the sanctions sync writes them when it can.
        self._not_stored: dict[str, float] = {}

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
        self._not_stored.pop(user, None)

    def not_stored(self, user: str) -> None:
        """The write of `user`'s current mute failed: keep it here until it is stored,
        lifted, replaced by a stored one, or over."""
        if user in self._muted:
            self._not_stored[user] = self._muted[user]

    def stored(self, user: str, until: float) -> None:
        """`user`'s mute until `until` is in the database now."""
        if self._not_stored.get(user) == until:
            del self._not_stored[user]

    def unstored_mutes(self) -> dict[str, float]:
        """user -> until of the running mutes whose write failed (to write again); one
        replaced since by another mute (a moderator's, stored) is not among them."""
        now = self._clock()
        return {
            user: until
            for user, until in self._not_stored.items()
            if until > now and self._muted.get(user) == until
        }

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
        so it is never lifted in between). A mute whose write failed (`not_stored`) is
        kept until it runs out, unless a stored one replaces it. Returns how many entries
        changed."""
        changed, now = 0, self._clock()
        unstored: set[tuple[str, str, float]] = set()
        self._not_stored = self.unstored_mutes()
        for user in mutes:
            self._not_stored.pop(user, None)  # the stored mute wins
        for name, table, stored in (("mute", self._muted, mutes), ("ban", self._banned, bans)):
            for user, until in stored.items():
                if table.get(user) != until:
                    table[user] = until
                    changed += 1
            for user, until in list(table.items()):
                if user in stored or until <= now:
                    continue  # stored, or over (it goes when next asked about)
                if name == "mute" and self._not_stored.get(user) == until:
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

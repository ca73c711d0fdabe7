"""Sans-IO limiters: a token bucket for message rates and counters for connection caps.

Time is passed in by the caller (the Trio clock in the app, any float in tests), so the
limits are deterministic to test.

Example:
    bucket = TokenBucket(rate=5.0, burst=10, now=0.0)
    assert bucket.take(now=0.0)
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

__all__ = ["ConnectionLimits", "KeyedRateLimiter", "LimitExceeded", "TokenBucket"]


class TokenBucket:
    """Allows `burst` events at once and `rate` events per second sustained."""

    def __init__(self, *, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = now

    def take(self, *, now: float) -> bool:
        """Spend one token if there is one; False means the event is over the limit."""
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until the next token, as of the last `take`."""
        return max(0.0, (1.0 - self._tokens) / self._rate)


class KeyedRateLimiter:
    """One TokenBucket per key (an IP, a username), at most `max_keys` remembered.

    The least recently used key is forgotten first, so memory stays bounded whatever
    the number of distinct keys an attacker sends.
    """

    def __init__(self, *, rate: float, burst: int, max_keys: int = 10_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be >= 1")
        self._rate = rate
        self._burst = burst
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, *, now: float) -> float:
        """Spend one event for `key`: 0.0 when allowed, else seconds until it would be."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(rate=self._rate, burst=self._burst, now=now)
        self._buckets[key] = bucket
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return 0.0 if bucket.take(now=now) else max(bucket.retry_after(), 1e-3)

    def __len__(self) -> int:
        return len(self._buckets)


class LimitExceeded(Exception):
    """A connection cap is reached; `scope` says which (node, user or ip)."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"too many connections for this {scope} (limit {limit})")
        self.scope = scope
        self.limit = limit


@dataclass
class ConnectionLimits:
    """Counts open WebSockets per node, user and IP; `acquire`/`release` in pairs.

    A socket counts toward its IP from the moment it is accepted (`acquire_ip`), before
    it has authenticated, so unauthenticated sockets cannot exceed the per-IP cap; it
    counts toward the node and its user once the user is known (`acquire_user`).
    `acquire(user, ip)` does both at once.
    """

    max_total: int
    max_per_user: int
    max_per_ip: int
    total: int = 0
    per_user: Counter[str] = field(default_factory=Counter)
    per_ip: Counter[str] = field(default_factory=Counter)

    def acquire(self, user: str, ip: str) -> None:
        """Count one more connection.

        Raises:
            LimitExceeded: a cap is reached; nothing was counted.
        """
        self.acquire_ip(ip)
        try:
            self.acquire_user(user)
        except LimitExceeded:
            self.release_ip(ip)
            raise

    def release(self, user: str, ip: str) -> None:
        """Forget one connection counted by `acquire`."""
        self.release_user(user)
        self.release_ip(ip)

    def acquire_ip(self, ip: str) -> None:
        """Count a socket toward its IP (authenticated or not yet).

        Raises:
            LimitExceeded: the IP's cap is reached; nothing was counted.
        """
        if self.per_ip[ip] >= self.max_per_ip:
            raise LimitExceeded("ip", self.max_per_ip)
        self.per_ip[ip] += 1

    def acquire_user(self, user: str) -> None:
        """Count an authenticated socket toward the node and its user.

        Raises:
            LimitExceeded: the node's or the user's cap is reached; nothing was counted.
        """
        if self.total >= self.max_total:
            raise LimitExceeded("node", self.max_total)
        if self.per_user[user] >= self.max_per_user:
            raise LimitExceeded("user", self.max_per_user)
        self.total += 1
        self.per_user[user] += 1

    def release_ip(self, ip: str) -> None:
        _forget(self.per_ip, ip)

    def release_user(self, user: str) -> None:
        self.total -= 1
        _forget(self.per_user, user)


def _forget(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]

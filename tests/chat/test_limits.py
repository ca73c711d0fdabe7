"""Token bucket and connection caps, at their edges."""

import pytest

from safestream.chat.limits import ConnectionLimits, KeyedRateLimiter, LimitExceeded, TokenBucket


def test_bucket_allows_exactly_the_burst_then_refuses() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    assert [bucket.take(now=0.0) for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_at_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=1, now=0.0)
    assert bucket.take(now=0.0)
    assert not bucket.take(now=0.49)
    assert bucket.take(now=0.5)
    assert bucket.retry_after() == pytest.approx(0.5)


def test_bucket_never_exceeds_burst_after_idle() -> None:
    bucket = TokenBucket(rate=10.0, burst=2, now=0.0)
    results = [bucket.take(now=100.0) for _ in range(3)]
    assert results == [True, True, False]


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1, now=0)


def test_node_cap_at_edge() -> None:
    limits = ConnectionLimits(max_total=2, max_per_user=5, max_per_ip=5)
    limits.acquire("a", "1")
    limits.acquire("b", "2")
    with pytest.raises(LimitExceeded) as info:
        limits.acquire("c", "3")
    assert info.value.scope == "node"
    limits.release("a", "1")
    limits.acquire("c", "3")


def test_user_and_ip_caps_count_separately() -> None:
    limits = ConnectionLimits(max_total=10, max_per_user=1, max_per_ip=2)
    limits.acquire("a", "1")
    with pytest.raises(LimitExceeded) as info:
        limits.acquire("a", "2")
    assert info.value.scope == "user"
    limits.acquire("b", "1")
    with pytest.raises(LimitExceeded) as info:
        limits.acquire("c", "1")
    assert info.value.scope == "ip"
    assert limits.total == 2


def test_release_forgets_empty_counters() -> None:
    limits = ConnectionLimits(max_total=1, max_per_user=1, max_per_ip=1)
    limits.acquire("a", "1")
    limits.release("a", "1")
    assert limits.total == 0 and not limits.per_user and not limits.per_ip


def test_keyed_limiter_counts_each_key_and_reports_the_wait() -> None:
    limiter = KeyedRateLimiter(rate=1.0, burst=2)
    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) == pytest.approx(1.0)
    assert limiter.take("b", now=0.0) == 0.0
    assert limiter.take("a", now=1.0) == 0.0


def test_keyed_limiter_forgets_least_recent_keys_beyond_max() -> None:
    limiter = KeyedRateLimiter(rate=1.0, burst=1, max_keys=2)
    limiter.take("a", now=0.0)
    limiter.take("b", now=0.0)
    limiter.take("c", now=0.0)
    assert len(limiter) == 2
    assert limiter.take("a", now=0.0) == 0.0  # forgotten, so a fresh bucket


def test_an_unauthenticated_socket_counts_toward_its_ip_until_released() -> None:
    limits = ConnectionLimits(max_total=10, max_per_user=10, max_per_ip=1)
    limits.acquire_ip("1.2.3.4")
    with pytest.raises(LimitExceeded, match="ip"):
        limits.acquire_ip("1.2.3.4")
    assert limits.total == 0  # not a viewer yet
    limits.release_ip("1.2.3.4")
    limits.acquire_ip("1.2.3.4")


def test_a_user_refused_by_the_node_cap_leaves_nothing_counted() -> None:
    limits = ConnectionLimits(max_total=1, max_per_user=5, max_per_ip=5)
    limits.acquire("ann", "ip-a")
    with pytest.raises(LimitExceeded, match="node"):
        limits.acquire("bob", "ip-b")
    assert (limits.total, dict(limits.per_ip), dict(limits.per_user)) == (
        1,
        {"ip-a": 1},
        {"ann": 1},
    )

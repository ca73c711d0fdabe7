"""`open_broker(url)`: the broker backend `BROKER_URL` names (imported only when used).

Example:
    broker = open_broker("nats://127.0.0.1:4222")
"""

from __future__ import annotations

from urllib.parse import urlsplit

from safestream.cluster.broker import Broker

__all__ = ["open_broker"]


def open_broker(url: str, *, namespace: str = "safestream", node: str = "") -> Broker:
    """The backend for `url` (not connected yet); `node` names its connections on the
    server (`CLIENT LIST` in Redis, the connection name in NATS).

    Raises:
        ValueError: an unknown scheme.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from safestream.cluster.memory import MemoryBroker

        return MemoryBroker()
    if scheme in ("redis", "rediss"):
        from safestream.cluster.redis_broker import RedisBroker

        return RedisBroker(url, namespace=namespace, node=node)
    if scheme in ("nats", "tls"):
        from safestream.cluster.nats_broker import NatsBroker

        return NatsBroker(url, namespace=namespace, node=node)
    raise ValueError(f"BROKER_URL must be memory://, redis://... or nats://..., not {url!r}")

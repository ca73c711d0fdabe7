"""What the HTTP routes and the chat socket are given: the node's shared state, explicitly.

Built once by `safestream.node` after the actor system has started and passed to every
route module (no globals). It holds plain objects and the actor system; routes reach
actors only by registry address or lookup and by message.

Example:
    ctx = AppContext(settings=..., db=..., ..., system=system, feed=feed, ...)
    ref = ctx.system.lookup("room:main")
    ctx.feed.notify("action", {"action": "mute", "user": "ann"})
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from actors import ActorSystem, Address
from safestream.chat.limits import ConnectionLimits, KeyedRateLimiter
from safestream.chat.sanctions import Sanctions
from safestream.cluster.agent import ClusterClient
from safestream.metrics import Metrics
from safestream.moderation.background import BackgroundScorer
from safestream.moderation.faults import ModelFaultSwitch
from safestream.moderation.feed import FeedNotifier
from safestream.moderation.shadow import ShadowBoard
from safestream.settings import Settings
from safestream.store.database import Database

__all__ = ["AppContext"]


@dataclass(frozen=True)
class AppContext:
    """The node's settings, database, counters and limits, and its actor system.

    `shadows` is the node's shadow policies (changed only with a cluster announcement),
    `scorer` the low-priority scoring of replays and explanations, `replays` bounds the
    replays running at once on this node (REPLAY_CONCURRENCY).
    """

    settings: Settings
    db: Database
    metrics: Metrics
    sanctions: Sanctions
    limits: ConnectionLimits
    login_attempts: KeyedRateLimiter
    system: ActorSystem
    feed: FeedNotifier
    metrics_document: Callable[[], dict[str, Any]]
    cluster: ClusterClient
    node: str  # this node's name in the cluster (NODE_ID)
    shadows: ShadowBoard
    scorer: BackgroundScorer
    replays: trio.CapacityLimiter
    model_fault: ModelFaultSwitch | None = None  # set only when fault injection is allowed
    _conn_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_conn_id(self) -> int:
        return next(self._conn_ids)

    def address(self, name: str) -> Address:
        """The registry address `name` (e.g. "store", "rooms", "connections")."""
        return self.system.address(name)

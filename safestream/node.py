"""The SafeStream node: builds the supervision tree and serves HTTP/WebSocket on it.

```
safestream (one_for_one)
├── broker        BrokerActor (memory, Redis or NATS, from BROKER_URL)
├── store         PersistenceWriter
├── moderation    ModerationPool -> ModeratorWorker x N
├── rooms         RoomSupervisor -> Room(...) on demand
├── gifts         GiftProducer
├── feed          ModeratorFeed
├── cluster       ClusterAgent (moderator actions, counts and trees across nodes)
├── sanctions     SanctionsSync (with a Redis/NATS broker: stored mutes and bans re-read)
├── connections   Supervisor -> Connection per WebSocket
├── trainer       ModelTrainer (retrain / swap / roll back the live model)
└── explainer     Explainer (occlusion for held/blocked messages, low priority)
```

This module is the composition root: `NodeParts` holds the plain objects made once at
start-up (settings, database, model, metrics, sanctions, connection limits, registry),
and `build_tree` gives each actor only the parts it needs, with registry addresses of
the peers it talks to. No other module sees `NodeParts`.

Example:
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(serve, settings)   # ["http://127.0.0.1:8000"]
"""

from __future__ import annotations

import contextlib
import secrets
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trio
from hypercorn.config import Config

from actors import (
    ActorError,
    ActorSystem,
    ChildSpec,
    OverflowPolicy,
    Registry,
    Supervisor,
    terminate_child,
    which_children,
)
from safestream.accounts.users import ensure_demo_accounts
from safestream.chat.gifts import GiftProducer
from safestream.chat.limits import ConnectionLimits, KeyedRateLimiter
from safestream.chat.room import RoomDeps
from safestream.chat.room_supervisor import RoomSupervisor, running_rooms
from safestream.chat.sanctions import Sanctions
from safestream.cluster.actor import BrokerActor, BrokerClient, BrokerStatus
from safestream.cluster.agent import ClusterAgent, ClusterClient
from safestream.cluster.backends import open_broker
from safestream.cluster.sanctions_sync import SanctionsSync, read_stored_sanctions
from safestream.metrics import Metrics
from safestream.moderation.background import BackgroundScorer
from safestream.moderation.classifiers import Classifier, load_classifier
from safestream.moderation.explainer import Explainer
from safestream.moderation.faults import FaultyModel, ModelFaultSwitch
from safestream.moderation.feed import FeedNotifier, ModeratorFeed
from safestream.moderation.hooks import DecisionHooks
from safestream.moderation.policy import RoomPolicy
from safestream.moderation.pool import ModerationClient, ModerationPool, worker_names
from safestream.moderation.shadow import Shadow, ShadowBoard
from safestream.moderation.trainer import ModelTrainer
from safestream.moderation.versions import ModelVersions
from safestream.settings import Settings
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.writer import PersistenceWriter
from safestream.web.asgi import build_asgi
from safestream.web.chat_socket import chat_socket
from safestream.web.context import AppContext
from safestream.web.listener import serve as serve_listener

__all__ = ["NodeParts", "build_tree", "load_model", "serve"]

# How blocking model calls leave the event loop (tests on a mock clock run them inline).
Offload = Callable[..., Awaitable[Any]]
# A Connection closes within its CLOSE_TIMEOUT_SECS; this bounds one stop call.
STOP_CONNECTION_SECS = 10.0


@dataclass(frozen=True)
class NodeParts:
    """The plain shared objects of one node (no actors), made once at start-up."""

    settings: Settings
    db: Database
    classifier: Classifier
    metrics: Metrics
    sanctions: Sanctions
    limits: ConnectionLimits
    registry: Registry
    broker: BrokerStatus
    offload: Offload = trio.to_thread.run_sync
    # Set when an orderly stop begins: rooms take no new members, viewers get 1001.
    draining: trio.Event = field(default_factory=trio.Event)
    # With fault injection only: the switch of the FaultyModel wrapping `classifier`.
    model_fault: ModelFaultSwitch | None = None
    shadows: ShadowBoard = field(default_factory=ShadowBoard)
    # One low-priority scoring chunk at a time per node (replays, explanations).
    background: trio.CapacityLimiter = field(default_factory=lambda: trio.CapacityLimiter(1))

    @classmethod
    def create(cls, settings: Settings, classifier: Classifier) -> NodeParts:
        model_fault = ModelFaultSwitch() if settings.allows_fault_injection else None
        if model_fault is not None:
            classifier = FaultyModel(classifier, model_fault)
        return cls(
            model_fault=model_fault,
            settings=settings,
            db=Database(
                settings.database_url,
                threads=settings.db_threads,
                statement_timeout_ms=settings.db_statement_timeout_ms,
                sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            ),
            classifier=classifier,
            metrics=Metrics(),
            sanctions=Sanctions(),
            limits=ConnectionLimits(
                max_total=settings.max_connections,
                max_per_user=settings.max_connections_per_user,
                max_per_ip=settings.max_connections_per_ip,
            ),
            registry=Registry(),
            broker=BrokerStatus(
                kind=urlsplit(settings.broker_url).scheme,
                node=settings.node_id or f"node-{secrets.token_hex(3)}",
            ),
        )

    def metrics_document(self) -> dict[str, Any]:
        """The `/metrics` document of this node, now."""
        return {
            **self.metrics.document(
                viewers=self.limits.total,
                rooms=len(running_rooms(self.registry)),
                model=self.classifier.name,
            ),
            "node": self.broker.node,
            "broker": self.broker.as_dict(),
        }

    def moderation_client(self) -> ModerationClient:
        """A client of the moderation pool's workers, by their registry names."""
        names = worker_names(self.settings.moderation_workers)
        return ModerationClient(
            [self.registry.address(name) for name in names],
            timeout=self.settings.moderation_timeout_secs,
        )

    def cluster_client(self) -> BrokerClient | None:
        """The broker, for rooms shared with other nodes; None on a single node."""
        if self.broker.kind == "memory":
            return None
        return BrokerClient(self.registry.address("broker"), self.broker)

    def feed(self) -> FeedNotifier:
        return FeedNotifier(self.registry.address("feed"), self.metrics)

    def background_scorer(self) -> BackgroundScorer:
        """Scoring for replays and explanations, after live moderation."""
        return BackgroundScorer(
            self.moderation_client(),
            chunk=self.settings.background_score_chunk,
            limiter=self.background,
        )


def load_model(settings: Settings, chat_model: Path | None = None) -> Classifier:
    """The configured classifier (blocking: call in a worker thread).

    ``default`` models use ``chat_model``, or the live version in ``MODEL_DIR``.
    """
    spec = settings.moderation_model
    if settings.disable_detoxify and "detoxify" in spec:
        spec = "default"
    if chat_model is None and spec.startswith("default"):
        chat_model = ModelVersions(settings.model_path).current_path()
    return load_classifier(
        spec,
        torch_threads=settings.torch_threads,
        chat_model=chat_model,
        band=(settings.moderation_band_low, settings.moderation_band_high),
    )


def _load_for_swap(
    settings: Settings, model_fault: ModelFaultSwitch | None
) -> Callable[[Path], Classifier]:
    """Loads a retrained or rolled-back model; with fault injection on, the new live model
    answers to the node's fault switch as the first one did."""

    def load(path: Path) -> Classifier:
        if not settings.moderation_model.startswith("default"):
            raise ValueError(
                f"MODERATION_MODEL={settings.moderation_model!r}: only the default model "
                "is retrained and swapped"
            )
        model = load_model(settings, path)
        return FaultyModel(model, model_fault) if model_fault is not None else model

    return load


def _sanctions_sync(parts: NodeParts) -> list[ChildSpec]:
    """With a Redis or NATS broker, a node re-reads the stored sanctions periodically
    (a moderator's broadcast is best-effort); one node alone needs no such thing."""
    if parts.broker.kind == "memory":
        return []
    sync = partial(
        SanctionsSync,
        parts.db,
        parts.sanctions,
        interval=parts.settings.sanctions_sync_secs,
    )
    return [ChildSpec(name="sanctions", factory=sync, essential=False)]


def build_tree(parts: NodeParts) -> Supervisor:
    """The root supervisor of a node, with its children in start order."""
    settings = parts.settings
    registry = parts.registry
    room_deps = RoomDeps(
        settings=settings,
        db=parts.db,
        sanctions=parts.sanctions,
        metrics=parts.metrics,
        moderation=parts.moderation_client(),
        store=registry.address("store"),
        feed=parts.feed(),
        viewers=lambda: parts.limits.total,
        cluster=parts.cluster_client(),
        draining=parts.draining,
        hooks=DecisionHooks(parts.shadows, registry.address("explainer")),
    )

    def moderation() -> ModerationPool:
        return ModerationPool(
            parts.classifier,
            parts.metrics,
            workers=settings.moderation_workers,
            batch_size=settings.moderation_batch_size,
            batch_wait_secs=settings.moderation_batch_wait_ms / 1000,
            queue_size=settings.moderation_queue_size,
            offload=parts.offload,
        )

    async def read_labels() -> list[Any]:
        return await parts.db.run(repo.list_labels, settings.model_retrain_max_labels)

    def trainer() -> ModelTrainer:
        model_dir = settings.model_path
        return ModelTrainer(
            ModelVersions(model_dir),
            _load_for_swap(settings, parts.model_fault),
            read_labels,
            registry.address("moderation"),
            shared_csv=Path(settings.model_train_data) if settings.model_train_data else None,
            work_dir=model_dir / "work",
            offload=parts.offload,
        )

    children = [
        ChildSpec(
            name="broker",
            factory=lambda: BrokerActor(
                lambda: open_broker(
                    settings.broker_url,
                    namespace=settings.broker_namespace,
                    node=parts.broker.node,
                ),
                parts.broker,
            ),
            register="broker",
            essential=False,
        ),
        ChildSpec(
            name="store",
            factory=lambda: PersistenceWriter(
                parts.db,
                batch_size=settings.store_batch_size,
                flush_secs=settings.store_flush_ms / 1000,
            ),
            register="store",
            mailbox_capacity=settings.store_queue_size,
            overflow=OverflowPolicy.BLOCK,
            shutdown_timeout=10.0,
        ),
        ChildSpec(name="moderation", factory=moderation, register="moderation"),
        # Rooms, gifts, the feed and connections are not essential: a crash loop in one
        # of them is retried with a growing backoff and never ends the node; the store
        # and the moderation pool report outages to their askers instead of crashing.
        ChildSpec(
            name="rooms",
            factory=lambda: RoomSupervisor(room_deps),
            register="rooms",
            essential=False,
        ),
        ChildSpec(
            name="gifts",
            factory=lambda: GiftProducer(
                interval=settings.gift_interval_secs,
                clock=parts.sanctions.now,
                store=registry.address("store"),
                metrics=parts.metrics,
            ),
            register="gifts",
            essential=False,
        ),
        ChildSpec(
            name="feed",
            factory=lambda: ModeratorFeed(parts.metrics_document),
            register="feed",
            essential=False,
        ),
        ChildSpec(
            name="cluster",
            factory=lambda: ClusterAgent(
                parts.cluster_client(),
                node=parts.broker.node,
                sanctions=parts.sanctions,
                metrics=parts.metrics,
                registry=registry,
                metrics_document=parts.metrics_document,
                shadows=parts.shadows,
            ),
            register="cluster",
            essential=False,
        ),
        *_sanctions_sync(parts),
        ChildSpec(
            name="connections",
            factory=lambda: Supervisor((), max_restarts=100, within=1.0),
            register="connections",
            essential=False,
        ),
        ChildSpec(name="trainer", factory=trainer, register="trainer", essential=False),
        ChildSpec(
            name="explainer",
            factory=lambda: Explainer(
                parts.db,
                parts.background_scorer(),
                parts.feed(),
                max_words=settings.occlusion_max_words,
            ),
            register="explainer",
            essential=False,
        ),
    ]
    return Supervisor(children, max_restarts=5, within=30.0)


def hypercorn_config(settings: Settings, bind: str | None = None) -> Config:
    config = Config()
    config.bind = [bind or f"{settings.app_host}:{settings.app_port}"]
    config.backlog = settings.listen_backlog
    config.keep_alive_timeout = settings.keep_alive_secs
    config.websocket_max_message_size = settings.max_frame_bytes
    config.accesslog = None
    config.graceful_timeout = 5.0
    config.workers = settings.workers  # > 1: bind with SO_REUSEPORT beside the others
    return config


async def serve(
    settings: Settings,
    *,
    bind: str | None = None,
    classifier: Classifier | None = None,
    shutdown: trio.Event | None = None,
    handle_signals: bool = True,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run one node until SIGINT/SIGTERM (or `shutdown` is set).

    One port: the node's listener serves `/ws/...` chat sockets itself and hands every
    other connection to Hypercorn (`web/listener.py`).

    Start-up migrates the database, loads the model, creates demo accounts in demo
    mode, starts the supervision tree, then binds. Shutdown drains: rooms stop taking
    members (a new chat socket is closed with `GOING_AWAY`), every chat socket is closed
    with `GOING_AWAY` and a reconnect hint, HTTP stops listening, then the tree stops
    bottom to top: rooms store what they accepted (`DRAIN_SECS`), the store last.
    """
    settings.check_server_secret()
    model = (
        classifier
        if classifier is not None
        else await trio.to_thread.run_sync(load_model, settings)
    )
    parts = NodeParts.create(settings, model)
    await trio.to_thread.run_sync(parts.db.upgrade)
    if settings.demo:
        await ensure_demo_accounts(parts.db, settings)
    await read_stored_sanctions(parts.db, parts.sanctions)  # running ones apply again
    await load_shadows(parts.db, parts.shadows)
    stop = trio.Event() if shutdown is None else shutdown
    try:
        async with ActorSystem.open(
            build_tree(parts), name="safestream", registry=parts.registry
        ) as system:
            ctx = app_context(parts, system)
            app = build_asgi(ctx)
            trigger = _shutdown_trigger(system, stop, parts.draining, handle_signals)
            await serve_listener(
                app,  # type: ignore[arg-type]
                hypercorn_config(settings, bind),
                partial(chat_socket, ctx) if settings.chat_socket == "own" else None,
                shutdown_trigger=trigger,
                chat_send_buffer=settings.chat_send_buffer_bytes or None,
                task_status=task_status,
            )
    finally:
        parts.db.dispose()


def app_context(parts: NodeParts, system: ActorSystem) -> AppContext:
    """What the HTTP routes and the chat socket are given."""
    per_minute = parts.settings.login_attempts_per_minute
    return AppContext(
        settings=parts.settings,
        db=parts.db,
        metrics=parts.metrics,
        sanctions=parts.sanctions,
        limits=parts.limits,
        login_attempts=KeyedRateLimiter(rate=per_minute / 60.0, burst=per_minute),
        system=system,
        feed=parts.feed(),
        metrics_document=parts.metrics_document,
        cluster=ClusterClient(parts.registry.address("cluster")),
        node=parts.broker.node,
        model_fault=parts.model_fault,
        shadows=parts.shadows,
        scorer=parts.background_scorer(),
        replays=trio.CapacityLimiter(parts.settings.replay_concurrency),
    )


async def load_shadows(db: Database, shadows: ShadowBoard) -> None:
    """Stored shadow policies decide again after a restart (as the stored policy does)."""
    for record in await db.run(repo.active_shadows):
        shadow = Shadow(record.id, record.room, RoomPolicy.from_dict(record.policy))
        shadows.set(record.room, shadow)


def _shutdown_trigger(
    system: ActorSystem, stop: trio.Event, draining: trio.Event, handle_signals: bool
) -> Callable[[], Awaitable[None]]:
    async def trigger() -> None:
        async with trio.open_nursery() as nursery:

            async def on_signal() -> None:
                with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        stop.set()
                        return

            if handle_signals:
                nursery.start_soon(on_signal)
            await stop.wait()
            nursery.cancel_scope.cancel()
        # Rooms close all their members at once (1001) and refuse joins; then any
        # Connection still running (one that was joining) is stopped in turn.
        draining.set()
        await close_all_connections(system)

    return trigger


async def close_all_connections(system: ActorSystem) -> None:
    """Stop every Connection (each closes its socket with GOING_AWAY), one after another
    as the supervisor serves them; a connection already gone is skipped. While the node
    drains most are gone already: their rooms closed them all at once."""
    connections = system.address("connections")
    with contextlib.suppress(ActorError):
        for name, _ref in await which_children(connections, timeout=STOP_CONNECTION_SECS):
            await terminate_child(connections, name, timeout=STOP_CONNECTION_SECS)

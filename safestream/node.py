"""The SafeStream node: builds the supervision tree and serves HTTP/WebSocket on it.

```
safestream (one_for_one)
├── store         PersistenceWriter
├── moderation    ModerationPool -> ModeratorWorker x N
├── rooms         RoomSupervisor -> Room(...) on demand
├── gifts         GiftProducer
└── connections   Supervisor -> Connection per WebSocket
```

Example:
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(serve, settings)   # ["http://127.0.0.1:8000"]
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

import trio
from hypercorn.config import Config

from actors import ActorSystem, ChildSpec, OverflowPolicy, Supervisor
from safestream.accounts.users import ensure_demo_accounts
from safestream.chat.gifts import GiftProducer
from safestream.chat.room_supervisor import RoomSupervisor
from safestream.moderation.classifiers import Classifier, load_classifier
from safestream.moderation.feed import ModeratorFeed
from safestream.moderation.pool import ModerationClient, ModerationPool
from safestream.services import Services
from safestream.settings import Settings
from safestream.store import repo
from safestream.store.writer import PersistenceWriter
from safestream.web.asgi import build_asgi
from safestream.web.chat_socket import chat_socket
from safestream.web.listener import serve as serve_listener

__all__ = ["build_tree", "load_model", "serve"]


def load_model(settings: Settings) -> Classifier:
    """The configured classifier (blocking: call in a worker thread)."""
    spec = settings.moderation_model
    if settings.disable_detoxify and "detoxify" in spec:
        spec = "default"
    return load_classifier(spec, torch_threads=settings.torch_threads)


def build_tree(services: Services) -> Supervisor:
    """The root supervisor of a node, with its children in start order."""
    settings = services.settings

    def moderation() -> ModerationPool:
        pool = ModerationPool(
            services.classifier,
            services.metrics,
            workers=settings.moderation_workers,
            batch_size=settings.moderation_batch_size,
            batch_wait_secs=settings.moderation_batch_wait_ms / 1000,
            queue_size=settings.moderation_queue_size,
            offload=services.offload,
        )
        services.install_moderation(
            ModerationClient(pool, timeout=settings.moderation_timeout_secs)
        )
        return pool

    children = [
        ChildSpec(
            name="store",
            factory=lambda: PersistenceWriter(
                services.db,
                batch_size=settings.store_batch_size,
                flush_secs=settings.store_flush_ms / 1000,
            ),
            register="store",
            mailbox_capacity=settings.store_queue_size,
            overflow=OverflowPolicy.BLOCK,
            shutdown_timeout=10.0,
        ),
        ChildSpec(name="moderation", factory=moderation, register="moderation"),
        ChildSpec(
            name="rooms",
            factory=lambda: services.install_rooms(RoomSupervisor(services)),
            register="rooms",
        ),
        ChildSpec(name="gifts", factory=lambda: GiftProducer(services), register="gifts"),
        ChildSpec(name="feed", factory=lambda: ModeratorFeed(services), register="feed"),
        ChildSpec(
            name="connections",
            factory=lambda: services.install_connections(
                Supervisor((), max_restarts=100, within=1.0)
            ),
            register="connections",
        ),
    ]
    return Supervisor(children, max_restarts=5, within=30.0)


def hypercorn_config(settings: Settings, bind: str | None = None) -> Config:
    config = Config()
    config.bind = [bind or f"{settings.app_host}:{settings.app_port}"]
    config.backlog = settings.listen_backlog
    config.websocket_max_message_size = settings.max_frame_bytes
    config.accesslog = None
    config.graceful_timeout = 5.0
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
    mode, starts the supervision tree, then binds. Shutdown closes every WebSocket with
    `GOING_AWAY` first, then stops HTTP, then the tree (store last, so accepted messages
    are committed).
    """
    settings.check_server_secret()
    model = (
        classifier
        if classifier is not None
        else await trio.to_thread.run_sync(load_model, settings)
    )
    services = Services.create(settings, model)
    await trio.to_thread.run_sync(services.db.upgrade)
    if settings.demo:
        await ensure_demo_accounts(services)
    await load_sanctions(services)
    stop = trio.Event() if shutdown is None else shutdown
    try:
        async with ActorSystem.open(build_tree(services), name="safestream") as system:
            services.system = system
            app = build_asgi(services)
            trigger = _shutdown_trigger(services, stop, handle_signals)
            await serve_listener(
                app,  # type: ignore[arg-type]
                hypercorn_config(settings, bind),
                partial(chat_socket, services),
                shutdown_trigger=trigger,
                task_status=task_status,
            )
    finally:
        services.db.dispose()


async def load_sanctions(services: Services) -> None:
    """Stored mutes and bans that are still running apply again after a restart."""
    now = datetime.fromtimestamp(services.sanctions.now(), UTC)
    for user in await services.db.run(repo.active_sanctions, now):
        if user.muted_until is not None and user.muted_until > now:
            services.sanctions.mute_until(user.username, user.muted_until.timestamp())
        if user.banned_until is not None and user.banned_until > now:
            services.sanctions.ban(user.username, user.banned_until.timestamp())


def _shutdown_trigger(
    services: Services, stop: trio.Event, handle_signals: bool
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
        await close_all_connections(services)

    return trigger


async def close_all_connections(services: Services) -> None:
    """Stop every Connection (each closes its socket with GOING_AWAY)."""
    connections = services.connections

    async def terminate(name: str) -> None:
        try:
            await connections.terminate_child(name)
        except KeyError:
            pass  # its client left meanwhile: the connection already ended

    async with trio.open_nursery() as nursery:
        for name in connections.children():
            nursery.start_soon(terminate, name)

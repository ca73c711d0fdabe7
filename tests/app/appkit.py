"""A whole SafeStream node without sockets, for deterministic actor tests.

`open_node` builds the real supervision tree (store, moderation, rooms, gifts, feed,
connections) on a SQLite file, but runs database calls inline on the event loop instead
of in worker threads, so `autojump_clock` tests never see time jump while a thread works.
Viewers are plain `Outbox`es joined to rooms, as a Connection would.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import trio

from actors import ActorRef, ActorSystem
from safestream.chat.outbox import Outbox
from safestream.chat.room_messages import Join, Post
from safestream.chat.room_supervisor import open_room
from safestream.chat.sanctions import Sanctions
from safestream.chat.wsframes import frame_payload, split_frames
from safestream.moderation.classifiers import Classifier, KeywordClassifier, Scores
from safestream.node import NodeParts, build_tree
from safestream.settings import Settings
from safestream.store.database import Database

T = TypeVar("T")


class InlineDatabase(Database):
    """Runs each call on the event loop (tests only: no thread, deterministic time)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return self.run_sync(fn, *args)


class FlakyClassifier:
    """Raises on the calls whose numbers are in `fail_on` (1-based); else delegates."""

    name = "flaky"

    def __init__(self, fail_on: set[int], inner: Classifier | None = None) -> None:
        self.fail_on = fail_on
        self.inner = inner or KeywordClassifier()
        self.calls = 0
        self.batches: list[int] = []

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        self.calls += 1
        self.batches.append(len(texts))
        if self.calls in self.fail_on:
            raise RuntimeError(f"model crashed on call {self.calls}")
        return self.inner.predict(texts)


def gated_offload(gate: trio.Event) -> Callable[..., Awaitable[Any]]:
    """An `offload` whose calls (the model's) run only once `gate` is set: a model held
    back, so posts queue behind the call in flight."""

    async def offload(fn: Callable[..., T], *args: Any, limiter: Any = None) -> T:
        await gate.wait()
        return fn(*args)

    return offload


async def run_inline(fn: Callable[..., T], *args: Any, limiter: Any = None) -> T:
    """`trio.to_thread.run_sync` without the thread (mock-clock tests only)."""
    await trio.lowlevel.checkpoint()
    return fn(*args)


@dataclass
class Node:
    parts: NodeParts
    system: ActorSystem
    conn_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def room(self, name: str = "main") -> ActorRef[Any]:
        return await open_room(self.system.address("rooms"), name, timeout=5)

    def next_conn_id(self) -> int:
        return next(self.conn_ids)

    async def join(
        self,
        user: str,
        *,
        room: str = "main",
        role: str = "viewer",
        capacity: int = 64,
        since: int | None = None,
        reading: bool = False,
        batched: bool = False,
    ) -> Member:
        """A member whose outbox the test drains. `reading`: its socket takes bytes, so
        a backlog is the server's (kept, it makes the room busy), not a slow viewer's.
        `batched`: it gets one array frame per tick."""
        outbox = Outbox(capacity, limit=capacity * 4, stalled=lambda: not reading)
        conn_id = self.next_conn_id()
        ref = await self.room(room)
        await ref.ask(Join(conn_id, user, role, outbox, since, batched=batched), timeout=5)
        return Member(conn_id, user, role, outbox, ref)


@dataclass
class Member:
    conn_id: int
    user: str
    role: str
    outbox: Outbox
    room: ActorRef[Any]
    # Frames read from the outbox but not asked for yet (a write holds several).
    unread: list[dict[str, Any]] = field(default_factory=list)

    async def post(self, text: str) -> None:
        await self.room.tell(Post(self.conn_id, self.user, self.role, text))

    async def frames(self, kind: str | None = None, count: int = 1) -> list[dict[str, Any]]:
        """The next `count` frames (of `kind`), skipping others; fails after 30 s. Frames
        after them in the same write are kept for the next call."""
        out: list[dict[str, Any]] = []
        with trio.fail_after(30):
            while len(out) < count:
                if not self.unread:
                    written = b"".join(await self.outbox.next_batch())
                    for raw in split_frames(written):
                        events = json.loads(frame_payload(raw))
                        self.unread += events if isinstance(events, list) else [events]
                while self.unread and len(out) < count:
                    frame = self.unread.pop(0)
                    if kind is None or frame["type"] == kind:
                        out.append(frame)
                closed = self.outbox.close_request is not None and not len(out) >= count
                if closed and not self.outbox.statistics().depth:
                    raise AssertionError(f"outbox closed: {self.outbox.close_request}")
        return out

    async def frame(self, kind: str | None = None) -> dict[str, Any]:
        return (await self.frames(kind))[0]


def node_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "demo",
        "jwt_secret_key": "k" * 40,
        "database_url": f"sqlite:///{tmp_path}/node.db",
        "data_dir": str(tmp_path),
        "gift_interval_secs": 0.0,
        "bcrypt_rounds": 4,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def open_node(
    tmp_path: Path,
    classifier: Classifier | None = None,
    offload: Callable[..., Awaitable[Any]] | None = None,
    database: type[InlineDatabase] = InlineDatabase,
    **overrides: Any,
) -> AsyncIterator[Node]:
    settings = node_settings(tmp_path, **overrides)
    db = database(settings.database_url, threads=1)
    db.upgrade()
    parts = dataclasses.replace(
        NodeParts.create(settings, classifier or KeywordClassifier()),
        db=db,
        sanctions=Sanctions(clock=trio.current_time),  # mutes follow the test clock
        offload=offload or run_inline,
    )
    try:
        async with ActorSystem.open(
            build_tree(parts), name="safestream", registry=parts.registry
        ) as system:
            yield Node(parts, system)
    finally:
        db.dispose()

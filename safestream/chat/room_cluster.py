"""RoomCluster: a Room's part in a cluster of nodes (its lease, forwarded posts, relays).

One node owns a room at a time (`safestream.cluster.room_link`): it stamps, moderates
and stores. A Room on another node is a replica: it forwards its viewers' posts to the
owner and delivers what the owner publishes, once each, in `seq` order, filling any gap
from the database. This module is that half of the Room: it keeps or takes the lease,
serves the room's broker subjects, remembers the posts it forwarded until it sees them
decided (a node that takes the room over accepts those still pending), and catches up
from storage after a gap, a broker outage or a take-over. It changes the Room only
through `ClusteredRoom`, the few things a Room offers it.

Example:
    cluster = RoomCluster(link, room, db=db, settings=settings)
    cluster.owner = await link.try_own()
    await nursery.start(cluster.run)
    cluster.forward(post)            # a replica's viewer posted
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import trio

from safestream.chat.frames import ChatMessage
from safestream.chat.room_messages import Post
from safestream.cluster.broker import BrokerUnavailable
from safestream.cluster.room_link import (
    LEASE_TTL_SECS,
    Malformed,
    RemoteEvent,
    RoomLink,
    decode_event,
    decode_post,
)
from safestream.moderation.policy import Action
from safestream.settings import Settings
from safestream.store import repo
from safestream.store.database import Database

__all__ = ["ClusteredRoom", "RoomCluster"]

PRESENCE_STALE_SECS = 5.0
LAG_STALE_SECS = 2.5  # a node reports every LEASE_TTL_SECS / 3; two reports missed
FORWARDED_KEPT = 256
FORWARDED_SECS = 10.0
RUN_MAX = 64  # the owner's messages delivered together at most (one write per viewer)


class ClusteredRoom(Protocol):
    """What a RoomCluster needs from its Room."""

    room: str
    seq: int  # the last seq delivered here

    def member_count(self) -> int: ...

    def delivery_lag(self) -> float:
        """How long the oldest frame waiting for a viewer here that reads has waited."""
        ...

    def stamped_age(self, seq: int) -> float:
        """How long ago the first message after `seq` delivered here was stamped (0 when
        there is none): on the owner, how far behind a node that delivered up to `seq` is."""
        ...

    def holds(self, message_id: str) -> bool:
        """Whether the message is in the replay buffer (delivered here already)."""
        ...

    def deliver_here(self, messages: list[ChatMessage]) -> None: ...

    def accept(self, post: Post, refuse: Callable[[dict[str, Any]], None]) -> None:
        """The owner's way for a post: rules, stamp, pipeline (or `refuse`)."""
        ...

    def tell(self, user: str, frame: dict[str, Any]) -> None:
        """A frame for one user's connections in this room, on every node."""
        ...

    def relay(self, frame: dict[str, Any], *, to: str | None, mods: bool) -> None:
        """A frame another node published, for the viewers here."""
        ...

    def mute(self, user: str) -> None:
        """Apply the room policy's timeout to `user` on this node."""
        ...

    def presence_changed(self) -> None: ...


class RoomCluster:
    """The cluster half of one Room; see the module docstring."""

    def __init__(
        self, link: RoomLink, room: ClusteredRoom, *, db: Database, settings: Settings
    ) -> None:
        self.link = link
        self.owner = False
        self._room = room
        self._db = db
        self._settings = settings
        # node -> (its viewers in this room, how far behind it delivers, when it said so)
        self._presence_elsewhere: dict[str, tuple[int, float, float]] = {}
        self._shown_elsewhere = 0  # their total, as this room last showed it
        self._reported = 0  # this node's viewers in the room, as the others last heard
        # Posts forwarded to the owner and not seen back yet: if the owner dies first,
        # the node that takes the room over accepts them itself.
        self._forwarded: deque[tuple[Post, float]] = deque(maxlen=FORWARDED_KEPT)
        self.dropped_envelopes = 0

    def forward(self, post: Post) -> None:
        """A viewer here posted and another node owns the room: the owner decides."""
        self.link.forward_post(post.user, post.role, post.text)
        self._forwarded.append((post, trio.current_time()))

    def report_presence(self) -> None:
        """Tell the other nodes this node's viewers in the room and how far behind their
        delivery is (the owner refuses posts while any node is behind)."""
        behind_ms = round(1000 * self._room.delivery_lag())
        members, seq = self._room.member_count(), self._room.seq
        self.link.publish_presence(members, behind_ms=behind_ms, seq=seq)
        self._reported = members

    def report_count_change(self) -> None:
        """Report this node's viewers if their count changed since the others last
        heard it (reporting on every change of the room's presence would bounce it
        between nodes: each one's report changes what the other shows)."""
        if self._room.member_count() != self._reported:
            self.report_presence()

    def _check_viewers_elsewhere(self) -> None:
        """The room shows a new count only when the other nodes' total changed (a report
        of the same count, every second from each node, changes nothing)."""
        viewers = self.viewers_elsewhere()
        if viewers != self._shown_elsewhere:
            self._shown_elsewhere = viewers
            self._room.presence_changed()

    def viewers_elsewhere(self) -> int:
        """This room's viewers on the other nodes (counts from the last seconds)."""
        fresh = trio.current_time() - PRESENCE_STALE_SECS
        return sum(n for n, _lag, at in self._presence_elsewhere.values() if at >= fresh)

    def delivery_lag_elsewhere(self) -> float:
        """How far behind the most lagging other node delivers (its last report)."""
        fresh = trio.current_time() - LAG_STALE_SECS
        return max(
            (lag for _n, lag, at in self._presence_elsewhere.values() if at >= fresh), default=0.0
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the lease (or take the room over), and serve the room's broker subjects."""
        link = self.link
        events, posts = await link.subscribe()
        if not self.owner:
            await self.catch_up()  # what the owner stored while we subscribed
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keep_lease)
                nursery.start_soon(self._receive_posts, posts)
                async with events:
                    async for payload in events:
                        await self._receive_events([payload, *_queued(events)])
        finally:
            if self.owner:
                with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                    await link.release()

    async def _receive_events(self, payloads: list[bytes]) -> None:
        """A backlog of events in one go. The owner's messages are delivered once each,
        in seq order, a run of them together (one write per viewer, `FanOut.together`);
        before anything that is not the next message (a relayed frame, a presence count,
        an approved message, a gap to fill from storage) the run so far is delivered, so
        order is kept and nothing awaits while a run is collected."""
        room = self._room
        run: list[ChatMessage] = []
        for payload in payloads:
            try:
                event = decode_event(payload)
            except Malformed:
                self.dropped_envelopes += 1
                continue
            if event.node == self.link.node:
                continue
            message = event.message
            if message is not None and not event.approved:
                if message.seq <= room.seq:
                    continue  # already delivered (or stored before this node loaded the room)
                if message.seq > room.seq + 1:
                    run = self._deliver_run(run)
                    await self.catch_up(until=message.seq - 1)
                self._next_in_order(message)
                run.append(message)
                if len(run) == RUN_MAX:
                    run = self._deliver_run(run)
                continue
            run = self._deliver_run(run)
            self._receive_other(event)
        self._deliver_run(run)

    def _deliver_run(self, run: list[ChatMessage]) -> list[ChatMessage]:
        """Deliver a run of the owner's messages; the empty run that follows it."""
        if run:
            self._room.deliver_here(run)
        return []

    async def _keep_lease(self) -> None:
        """Renew the lease while owning; take the room over when its owner is gone; after
        the broker reconnected, fetch what the owner stored while we were not listening
        (a quiet room would otherwise show no gap until its next message)."""
        link = self.link
        reconnects = link.reconnects
        while True:
            await trio.sleep(LEASE_TTL_SECS / 3)
            if link.reconnects != reconnects and not self.owner:
                reconnects = link.reconnects
                await self.catch_up()
            if self._room.member_count():
                self.report_presence()  # the other nodes' counts and lag stay fresh
            self._check_viewers_elsewhere()  # a node that stopped reporting drops out
            try:
                held = await link.try_own()
            except BrokerUnavailable:
                continue  # keep the current role; stored seqs stop a second owner anyway
            if held and not self.owner:
                await self.catch_up()
                self.owner = True
                self._accept_forwarded()
            elif not held and self.owner:
                self.owner = False

    async def _receive_posts(self, posts: Any) -> None:
        max_length = self._settings.max_message_length
        async with posts:
            async for payload in posts:
                try:
                    remote = decode_post(payload, max_length=max_length)
                except Malformed:
                    self.dropped_envelopes += 1
                    continue
                if not self.owner or remote.node == self.link.node:
                    continue
                try:
                    post = Post(-1, remote.user, remote.role, remote.text)
                except ValueError:
                    self.dropped_envelopes += 1
                    continue
                self._room.accept(post, partial(self._room.tell, remote.user))

    def _receive_other(self, event: RemoteEvent) -> None:
        """An event that is not one of the owner's messages in seq order."""
        if event.presence is not None:
            lag = event.behind_ms / 1000  # frames waiting there, plus messages not yet there
            if self.owner and event.seq is not None:
                lag += self._room.stamped_age(event.seq)
            self._presence_elsewhere[event.node] = (event.presence, lag, trio.current_time())
            self._check_viewers_elsewhere()
        elif event.message is not None:  # a held message a moderator approved
            if not self._room.holds(event.message.id):
                self._room.deliver_here([event.message])
        elif event.frame is not None:
            self._room.relay(event.frame, to=event.to, mods=event.mods)

    def _next_in_order(self, message: ChatMessage) -> None:
        """The room's next message from the owner: its timeout applies, a forwarded post
        is no longer pending, and the room's seq moves on (it is delivered next)."""
        if message.action == Action.TIMEOUT:
            self._room.mute(message.user)
        self._seen_back(message)
        self._room.seq = max(self._room.seq, message.seq)

    def _accept_forwarded(self) -> None:
        """A new owner accepts the recent posts its viewers forwarded to the old one."""
        recent = trio.current_time() - FORWARDED_SECS
        pending = [post for post, at in self._forwarded if at >= recent]
        self._forwarded.clear()
        for post in pending:
            self._room.accept(post, partial(self._room.tell, post.user))

    def _seen_back(self, message: ChatMessage) -> None:
        """The owner decided one of our forwarded posts: it is no longer pending."""
        for index, (post, _at) in enumerate(self._forwarded):
            if post.user == message.user and post.text == message.original:
                del self._forwarded[index]
                return

    async def catch_up(self, until: int | None = None) -> None:
        """Deliver the stored messages after the room's `seq` (a gap, or a take-over)."""
        room = self._room
        name, size = room.room, self._settings.replay_buffer_size
        records = await self._db.run(repo.room_history, name, size, room.seq)
        missed = [ChatMessage.from_record(r) for r in records if until is None or r.seq <= until]
        for message in missed:
            self._seen_back(message)
        room.deliver_here([m for m in missed if m.seq > room.seq])
        last = await self._db.run(repo.last_seq, name) if until is None else until
        room.seq = max([room.seq, last, *(m.seq for m in missed)])


def _queued(events: trio.MemoryReceiveChannel[bytes]) -> list[bytes]:
    """What is already waiting on a subscription, without waiting."""
    out = []
    while True:
        try:
            out.append(events.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            return out

"""Room: the actor that owns one chat room (members, sequence, history, policy).

A Room accepts posts from its members' Connections, stamps them (id, seq, time), has
them scored and stored by its pipeline task, then frames each event once (`wsframes`:
the same bytes serve every viewer) and hands it to its FanOut (`chat/fanout.py`), which
offers it to every member's outbox (a delivered batch as one write per viewer, one
array per tick for batched viewers). It never
waits on a viewer: a viewer that stopped reading is closed (`TOO_SLOW`, see
`chat/outbox.py`). When the *room* is behind (its oldest accepted post waits too long for
moderation and storage, or the viewers that do read have frames waiting too long because
the server is busy) it refuses new posts with `room_busy` and sheds presence and gift
frames; it never drops what it accepted. Its replay buffer answers `?since=` on
reconnect. Empty rooms passivate after `ROOM_IDLE_SECS`; a room that crashes or is
restarted with its supervisor closes its members with `SERVICE_RESTART` so they
reconnect and recover from the (reloaded) history; only when the node itself is shutting
down are they closed with `GOING_AWAY`.

The pipeline task belongs to this actor: it scores and persists batches in order, then
calls `_deliver`, which does not await, so the room's state is never seen half-changed.

Each Room is given its `RoomDeps` at construction: settings, the database (history on
start), the node's sanctions and metrics, the moderation client, and the addresses of
the persistence writer and the moderators' feed.

Example:
    ref = await open_room(rooms_address, "main", timeout=5)    # see room_supervisor
    await ref.ask(Join(conn_id, "ann", "viewer", outbox, since=None), timeout=5)
    ref.tell_nowait(Post(conn_id, "ann", "viewer", "hello"))
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import trio
from sqlalchemy.exc import SQLAlchemyError

from actors import Actor, ActorError, Address, OverflowPolicy
from safestream.accounts.auth import Role
from safestream.chat.fanout import FanOut
from safestream.chat.frames import (
    ChatMessage,
    chat_frame,
    history_frame,
    moderation_frame,
    moderator_view,
    new_message_id,
    notice_frame,
    presence_frame,
)
from safestream.chat.protocol import (
    BUSY_CAUSES,
    ROOM_RESTART_REASON,
    SHUTDOWN_REASON,
    CloseCode,
    error_frame,
)
from safestream.chat.room_cluster import RoomCluster
from safestream.chat.room_messages import (
    Broadcast,
    CloseUser,
    DeleteMessage,
    DeliverApproved,
    Join,
    Leave,
    Member,
    Post,
    RoomInfo,
    SetPolicy,
)
from safestream.chat.rules import PostRules
from safestream.chat.sanctions import Sanctions
from safestream.chat.wsframes import event_frame
from safestream.cluster.actor import BrokerClient
from safestream.cluster.broker import BrokerUnavailable
from safestream.cluster.room_link import RoomLink
from safestream.metrics import Metrics
from safestream.moderation.decide import moderate
from safestream.moderation.feed import FeedNotifier
from safestream.moderation.hooks import DecisionHooks
from safestream.moderation.policy import Action, RoomPolicy
from safestream.moderation.pool import ModerationClient
from safestream.settings import Settings
from safestream.store import repo
from safestream.store.database import Database
from safestream.store.errors import UserNotFound
from safestream.store.records import ActionRow, MessageStatus
from safestream.store.writer import Flush, Persist, Stored, StoreUnavailable

__all__ = ["Room", "RoomDeps"]

PRESENCE_INTERVAL_SECS = 1.0
# Within the room's shutdown grace (ROOM_SHUTDOWN_SECS): time to finish accepted posts.
DRAIN_SECS = 4.0
LOAD_INTERVAL_SECS = 0.1


@dataclass(frozen=True)
class RoomDeps:
    """What every Room of a node is given at construction."""

    settings: Settings
    db: Database
    sanctions: Sanctions
    metrics: Metrics
    moderation: ModerationClient
    store: Address  # the PersistenceWriter
    feed: FeedNotifier
    viewers: Callable[[], int]  # connected viewers on the node, for presence frames
    # Set when the node begins an orderly stop: rooms close members 1001, take no new ones.
    draining: trio.Event
    cluster: BrokerClient | None = None  # None: one node (memory broker), it owns every room
    hooks: DecisionHooks = field(default_factory=DecisionHooks)  # shadow policy, explanations


class Room(Actor):
    """One chat room. Restart type TRANSIENT: a normal exit is passivation."""

    kind = "room"
    overflow = OverflowPolicy.FAIL

    def __init__(self, name: str, deps: RoomDeps) -> None:
        self.room = name
        self._deps = deps
        settings = deps.settings
        self._members: dict[int, Member] = {}
        self._replay: deque[ChatMessage] = deque(maxlen=settings.replay_buffer_size)
        self._floor = 0  # every visible message with seq > floor is in the replay buffer
        self.seq = 0
        self._policy = RoomPolicy.default()  # replaced by the stored one in on_start
        self._rules = PostRules()
        send, self._pipeline_in = trio.open_memory_channel[ChatMessage](settings.room_mailbox_size)
        self._pipeline_out = send
        self._pipeline_drained = trio.Event()
        self._presence_dirty = False
        self._fanout = FanOut(
            self._members,
            deps.metrics,
            tick_secs=settings.batch_tick_ms / 1000,
            remove=self._remove,
        )
        self._idle_since = trio.current_time()
        self._posted = 0
        self._delivered = 0
        # Overload: (seq, accepted at) of posts in the pipeline, the viewers' delivery
        # lag (seconds, measured when a post asks, at most every LOAD_INTERVAL_SECS), and the
        # posts refused room_busy.
        self._in_pipeline: deque[tuple[int, float]] = deque()
        self._delivery_lag = 0.0
        self._lag_measured_at = -float("inf")
        self._busy_refusals = 0
        # Across nodes (chat/room_cluster.py): one owner stamps, moderates and stores;
        # the others forward posts to it and deliver what it publishes.
        self._cluster = (
            RoomCluster(RoomLink(deps.cluster, name), self, db=deps.db, settings=settings)
            if deps.cluster is not None
            else None
        )
        self._link = self._cluster.link if self._cluster is not None else None

    async def on_start(self) -> None:
        db = self._deps.db
        # A predecessor that crashed may have left a batch with the store: wait until it
        # is written, so its messages are in the history and their seqs are not reused.
        with contextlib.suppress(StoreUnavailable, ActorError):
            await self._deps.store.ask(Flush(), timeout=self._store_timeout())
        record = await db.run(repo.ensure_room, self.room)
        settings = self._deps.settings
        self._policy = RoomPolicy.stored_or_default(
            record.policy,
            record.policy_version,
            threshold=settings.toxic_threshold,
            failure_mode=settings.moderation_failure_mode,
        )
        self.seq = await db.run(repo.last_seq, self.room)
        size = self._deps.settings.replay_buffer_size
        history = await db.run(repo.room_history, self.room, size)
        self._replay.extend(ChatMessage.from_record(record) for record in history)
        if len(history) >= size and history:
            self._floor = history[0].seq - 1
        if self._cluster is not None:
            with contextlib.suppress(BrokerUnavailable):
                self._cluster.owner = await self._cluster.link.try_own()

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._pipeline)
            nursery.start_soon(self._presence_ticker)
            nursery.start_soon(self._fanout.run_ticker)
            nursery.start_soon(self._idle_sweeper)
            if self._cluster is not None:
                await nursery.start(self._cluster.run)
            nursery.start_soon(self._close_members_on_drain)
            await super().run()
            # An orderly stop (shutdown, passivation): posts already accepted are still
            # scored and stored, within the room's grace period, before the room goes.
            self._pipeline_out.close()
            with trio.move_on_after(DRAIN_SECS):
                await self._pipeline_drained.wait()
            nursery.cancel_scope.cancel()

    async def on_stop(self) -> None:
        # A stop asked by a supervisor that is itself restarting is a room restart too.
        if self._deps.draining.is_set():
            code, reason = CloseCode.GOING_AWAY, SHUTDOWN_REASON
        else:
            code, reason = CloseCode.SERVICE_RESTART, ROOM_RESTART_REASON
        self._fanout.flush_tick()
        for member in self._members.values():
            member.outbox.close(code, reason)
        self._members.clear()

    async def handle(self, message: Any) -> Any:
        match message:
            case Post():
                self._post(message)
            case Join():
                return self._join(message)
            case Leave():
                self._remove(message.conn_id)
            case Broadcast():
                kind = message.frame["type"] if message.optional else None
                self._fanout.to_all(event_frame(message.frame), optional=kind)
                if self._link is not None:
                    self._link.publish_frame(message.frame)
            case CloseUser():
                return self._close_user(message)
            case DeleteMessage():
                return self._delete(message)
            case DeliverApproved():
                self._deliver([message.message])
                if self._link is not None:
                    self._link.publish_message(message.message, approved=True)
            case SetPolicy():
                self._policy = message.policy
                self._fanout.to_all(
                    event_frame(notice_frame(self.room, "policy", version=message.policy.version))
                )
            case RoomInfo():
                return self.introspect()
            case _:
                return await super().handle(message)
        return None

    def _join(self, join: Join) -> bool:
        member = Member(join.conn_id, join.user, join.role, join.outbox, join.batched)
        self._members[join.conn_id] = member
        self._presence_dirty = True
        self._fanout.joined(member)
        history, recovered = self._history_since(join.since)
        history_event = history_frame(self.room, history, seq=self.seq, recovered=recovered)
        self._fanout.to_member(member, event_frame(history_event))
        presence = presence_frame(self.room, self._room_viewers(), self._viewers())
        self._fanout.to_member(member, event_frame(presence))
        return True

    def _history_since(self, since: int | None) -> tuple[list[ChatMessage], bool | None]:
        size = self._deps.settings.history_size
        if since is None:
            return list(self._replay)[-size:] if size else [], None
        if self._floor <= since <= self.seq:
            return [m for m in self._replay if m.seq > since], True
        return list(self._replay)[-size:] if size else [], False

    def _post(self, post: Post) -> None:
        member = self._members.get(post.conn_id)
        if member is None:
            return

        def refuse(frame: dict[str, Any]) -> None:
            self._fanout.to_member(member, event_frame(frame))

        if self._cluster is not None and not self._cluster.owner:
            # The owner judges its pipeline; this node's own viewers are judged here.
            cause = self._busy(trio.current_time())
            if cause is not None:
                self._refuse_busy(refuse, cause)
                return
            self._cluster.forward(post)
            self._posted += 1
            return
        self.accept(post, refuse)

    def accept(self, post: Post, refuse: Callable[[dict[str, Any]], None]) -> None:
        """The owner's way for a post (local or forwarded): rules, stamp, pipeline."""
        now = trio.current_time()
        refusal = self._rules.check(post, self._policy, self._deps.sanctions, now)
        if refusal is not None:
            self._deps.metrics.refused[refusal.code] += 1
            refuse(error_frame(refusal.code, refusal.detail))
            return
        cause = self._busy(now)
        if cause is not None:
            self._refuse_busy(refuse, cause)
            return
        stamped = ChatMessage(
            id=new_message_id(),
            room=self.room,
            seq=self.seq + 1,
            user=post.user,
            original=post.text,
            text=post.text,
            ts=self._deps.sanctions.now(),
        )
        try:
            self._pipeline_out.send_nowait(stamped)
        except trio.WouldBlock:
            self._refuse_busy(refuse, "queue")
            return
        self.seq = stamped.seq
        self._in_pipeline.append((stamped.seq, now))
        self._rules.accepted(post, now)
        self._posted += 1

    def _busy(self, now: float) -> str | None:
        """Why the room takes no post right now, if it is behind: "pipeline" (the oldest
        accepted post has waited ROOM_BUSY_PIPELINE_MS for moderation and storage),
        "delivery" (viewers that read have had frames waiting ROOM_BUSY_DELIVERY_MS) or,
        on the owner of a room across nodes, "elsewhere" (another node reported that
        much delay to its viewers). Senders are refused; nothing accepted is dropped."""
        settings = self._deps.settings
        if self._pipeline_lag() > settings.room_busy_pipeline_ms / 1000:
            return "pipeline"
        if self._delivery_lag_at(now) > settings.room_busy_delivery_ms / 1000:
            return "delivery"
        if self._delivery_lag_elsewhere() > settings.room_busy_delivery_ms / 1000:
            return "elsewhere"
        return None

    def _delivery_lag_elsewhere(self) -> float:
        """The owner's view of the other nodes' delivery lag (0 on a replica: the owner
        judges the other nodes; a replica judges its own viewers)."""
        if self._cluster is None or not self._cluster.owner:
            return 0.0
        return self._cluster.delivery_lag_elsewhere()

    def _refuse_busy(self, refuse: Callable[[dict[str, Any]], None], cause: str) -> None:
        self._deps.metrics.refused["room_busy"] += 1
        self._deps.metrics.room_busy[cause] += 1
        self._busy_refusals += 1
        refuse(error_frame("room_busy", f"room is busy ({BUSY_CAUSES[cause]}), try again"))

    async def _pipeline(self) -> None:
        """Score, decide and store batches in seq order, then deliver them."""
        try:
            await self._run_pipeline()
        except trio.EndOfChannel:
            self._pipeline_drained.set()

    async def _run_pipeline(self) -> None:
        settings = self._deps.settings
        while True:
            batch = [await self._pipeline_in.receive()]
            while len(batch) < settings.moderation_batch_size:
                try:
                    batch.append(self._pipeline_in.receive_nowait())
                except trio.WouldBlock:
                    break
            decided = await moderate(batch, self._policy, self._deps.moderation, self._deps.metrics)
            decided = self._deps.hooks.after(self.room, decided)
            timeouts = sorted({m.user for m in decided if m.action == Action.TIMEOUT})
            try:
                stored: Stored = await self._deps.store.ask(
                    Persist(
                        messages=tuple(m.to_row() for m in decided),
                        actions=tuple(self._timeout_audit(user) for user in timeouts),
                    ),
                    timeout=self._store_timeout(),
                )
            except (StoreUnavailable, ActorError):
                # Not durable, so not accepted: tell the authors, deliver nothing.
                self._not_saved(decided)
                self._left_pipeline(batch[-1].seq)
                continue
            self._not_saved([m for m in decided if m.id in stored.refused])
            accepted = [m for m in decided if m.id not in stored.refused]
            self._deliver(accepted)
            self._deps.hooks.explain(accepted)
            self._left_pipeline(batch[-1].seq)
            for user in timeouts:
                await self._store_mute(user)

    def _left_pipeline(self, seq: int) -> None:
        while self._in_pipeline and self._in_pipeline[0][0] <= seq:
            self._in_pipeline.popleft()

    def _store_timeout(self) -> float:
        return self._deps.settings.moderation_timeout_secs + 10.0

    def _not_saved(self, messages: list[ChatMessage]) -> None:
        """Tell each author that their message was not stored (so nobody saw it)."""
        self._deps.metrics.refused["not_saved"] += len(messages)
        for message in messages:
            frame = error_frame("not_saved", "your message could not be saved, please resend")
            self.tell(message.user, frame)

    def _timeout_audit(self, user: str) -> ActionRow:
        """The audit row of a policy timeout, stored with the message that caused it."""
        return ActionRow(
            actor="policy",
            action="timeout",
            target=user,
            room=self.room,
            duration_secs=self._policy.timeout_secs,
            reason=f"policy v{self._policy.version}",
        )

    async def _store_mute(self, user: str) -> None:
        """Store a policy timeout with the user, as an admin mute is, so it survives a
        restart. The mute already holds in memory; a failed write is counted."""
        until = datetime.fromtimestamp(
            self._deps.sanctions.now() + self._deps.sanctions.muted_for(user), UTC
        )
        try:
            await self._deps.db.run(repo.set_mute, user, until)
        except (UserNotFound, SQLAlchemyError):
            self._deps.metrics.refused["mute_not_stored"] += 1
            self._deps.sanctions.not_stored(user)  # kept, and written again when it can be

    def _deliver(self, messages: list[ChatMessage]) -> None:
        """The owner's delivery: count, deliver here, publish to the other nodes."""
        for message in messages:
            self._deps.metrics.observe_message(toxic=message.toxic, action=message.action)
            if self._link is not None:
                self._link.publish_message(message)
        self.deliver_here(messages)

    def deliver_here(self, messages: list[ChatMessage]) -> None:
        """Fan out visible messages; tell authors (and moderators) about the rest."""
        if len(messages) > 1:
            with self._fanout.together():  # one write per viewer for the whole batch
                self._deliver_each(messages)
        else:
            self._deliver_each(messages)

    def _deliver_each(self, messages: list[ChatMessage]) -> None:
        for message in messages:
            if message.status == MessageStatus.VISIBLE:
                self._replay.append(message)
                if len(self._replay) == self._replay.maxlen:
                    self._floor = max(self._floor, self._replay[0].seq - 1)
                frame = chat_frame(message)
                self._fanout.to_all(event_frame(frame))
                self._deps.feed.notify("message", moderator_view(frame, message))
                self._delivered += 1
                continue
            notice = moderation_frame(message.status, message)
            self._to_user(message.user, event_frame(notice), moderators_too=True)
            held = message.status == MessageStatus.HELD
            self._deps.feed.notify("held" if held else "message", moderator_view(notice, message))
            if message.action == Action.TIMEOUT:
                until = self._deps.sanctions.mute(message.user, self._policy.timeout_secs)
                self._fanout.to_all(
                    event_frame(notice_frame(self.room, "timeout", user=message.user, until=until))
                )

    def tell(self, user: str, frame: dict[str, Any]) -> None:
        """A frame for one user's connections in this room, on every node."""
        self._to_user(user, event_frame(frame))
        if self._link is not None:
            self._link.publish_frame(frame, to=user)

    def _to_user(self, user: str, frame: bytes, *, moderators_too: bool = False) -> None:
        for member in list(self._members.values()):
            if member.user == user or (moderators_too and Role(member.role).allows(Role.MODERATOR)):
                self._fanout.to_member(member, frame)

    def _close_user(self, close: CloseUser) -> int:
        self._fanout.flush_tick()  # what was said to them before (a notice) reaches them first
        closed = [m for m in self._members.values() if m.user == close.user]
        for member in closed:
            member.outbox.close(close.code, close.reason)
            self._remove(member.conn_id)
        return len(closed)

    def _delete(self, delete: DeleteMessage) -> bool:
        notice = notice_frame(self.room, "deleted", id=delete.message_id, by=delete.by)
        if self._link is not None:
            self._link.publish_frame(notice)
        return self._forget(notice)

    def _forget(self, notice: dict[str, Any]) -> bool:
        """Drop a deleted message from the replay buffer and tell the viewers here."""
        before = len(self._replay)
        self._replay = deque(
            (m for m in self._replay if m.id != notice.get("id")), maxlen=self._replay.maxlen
        )
        self._fanout.to_all(event_frame(notice))
        return len(self._replay) != before

    def _remove(self, conn_id: int) -> None:
        if self._members.pop(conn_id, None) is not None:
            self._presence_dirty = True
            if not self._members:
                self._idle_since = trio.current_time()

    async def _close_members_on_drain(self) -> None:
        """Every room closes its members at once when the node drains, so viewers are
        closed in parallel, not one after another by the connections supervisor."""
        await self._deps.draining.wait()
        self._fanout.flush_tick()
        for member in self._members.values():
            member.outbox.close(CloseCode.GOING_AWAY, SHUTDOWN_REASON)
        self._members.clear()

    async def _presence_ticker(self) -> None:
        """Presence at most once a second, only when the count changed."""
        while True:
            await trio.sleep(PRESENCE_INTERVAL_SECS)
            if self._presence_dirty:
                self._presence_dirty = False
                if self._cluster is not None:
                    self._cluster.report_count_change()
                self._fanout.to_all(
                    event_frame(presence_frame(self.room, self._room_viewers(), self._viewers())),
                    optional="presence",
                )

    def _delivery_lag_at(self, now: float) -> float:
        """How far behind delivery is: the oldest unsent frame of the viewers that read (a
        viewer whose socket is full is not the room's backlog: it is cut off as too slow
        instead). A loop over the members, so measured when asked, at most once per
        LOAD_INTERVAL_SECS; a room nobody posts to measures nothing."""
        if now - self._lag_measured_at >= LOAD_INTERVAL_SECS:
            self._lag_measured_at = now
            lags = (m.outbox.pending_secs(now) for m in self._members.values())
            self._delivery_lag = max(lags, default=0.0)
        return self._delivery_lag

    async def _idle_sweeper(self) -> None:
        """Every CLEANUP_INTERVAL: passivate if empty for ROOM_IDLE_SECS."""
        settings = self._deps.settings
        while True:
            await trio.sleep(settings.cleanup_interval)
            idle = trio.current_time() - self._idle_since
            if not self._members and idle >= settings.room_idle_secs and not self._pipeline_busy():
                self.stop()
                return

    def _pipeline_lag(self) -> float:
        return trio.current_time() - self._in_pipeline[0][1] if self._in_pipeline else 0.0

    def _pipeline_busy(self) -> bool:
        return self._pipeline_in.statistics().current_buffer_used > 0

    def _viewers(self) -> int:
        return self._deps.viewers()

    def _room_viewers(self) -> int:
        """Viewers of this room on every node (other nodes' counts from the last seconds)."""
        elsewhere = self._cluster.viewers_elsewhere() if self._cluster is not None else 0
        return len(self._members) + elsewhere

    # -- what RoomCluster (chat/room_cluster.py) uses ---------------------------------

    def member_count(self) -> int:
        return len(self._members)

    def delivery_lag(self) -> float:
        return self._delivery_lag_at(trio.current_time())

    def stamped_age(self, seq: int) -> float:
        first = None
        for message in reversed(self._replay):
            if message.seq <= seq:
                break
            first = message
        return 0.0 if first is None else max(0.0, self._deps.sanctions.now() - first.ts)

    def holds(self, message_id: str) -> bool:
        return any(m.id == message_id for m in self._replay)

    def relay(self, frame: dict[str, Any], *, to: str | None, mods: bool) -> None:
        if to is not None:
            self._to_user(to, event_frame(frame), moderators_too=mods)
        elif frame["type"] == "deleted":
            self._forget(frame)
        else:
            self._fanout.to_all(event_frame(frame))

    def mute(self, user: str) -> None:
        self._deps.sanctions.mute(user, self._policy.timeout_secs)

    def presence_changed(self) -> None:
        self._presence_dirty = True

    def introspect(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "members": len(self._members),
            "seq": self.seq,
            "replay": len(self._replay),
            "posted": self._posted,
            "delivered": self._delivered,
            "pipeline": self._pipeline_in.statistics().current_buffer_used,
            "pipeline_lag_ms": round(1000 * self._pipeline_lag(), 1),
            "delivery_lag_ms": round(1000 * self._delivery_lag_at(trio.current_time()), 1),
            "delivery_lag_elsewhere_ms": round(1000 * self._delivery_lag_elsewhere(), 1),
            "busy": self._busy(trio.current_time()),
            "busy_refusals": self._busy_refusals,
            "policy_version": self._policy.version,
            "owner": self._cluster is None or self._cluster.owner,
            "dropped_envelopes": self._cluster.dropped_envelopes if self._cluster else 0,
        }

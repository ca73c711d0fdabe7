"""RoomCluster, a room's part across nodes. A replica delivers the owner's queued events
as one batch (one write per viewer), in seq order, with anything else (a relayed frame, a
gap filled from storage) in its place; every node reports how far behind its viewers are,
and the owner sees the most lagging node's report until it goes stale.

`RoomCluster` runs against a stand-in Room that records each `deliver_here` call and a
stand-in broker whose subscription the test fills; payloads are encoded by a real
`RoomLink`, as the owner node publishes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import trio
import trio.testing
from appkit import InlineDatabase, node_settings

from safestream.chat.frames import ChatMessage
from safestream.chat.room_cluster import (
    LAG_STALE_SECS,
    PRESENCE_STALE_SECS,
    RUN_MAX,
    RoomCluster,
)
from safestream.chat.room_messages import Post
from safestream.cluster.room_link import LEASE_TTL_SECS, RoomLink, decode_event
from safestream.store import repo


class StandInBroker:
    """The broker client seen by one node: publishes are kept, subscriptions are
    channels the test sends payloads into, the lease is never this node's."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.status = SimpleNamespace(reconnects=0)
        self.published: list[bytes] = []
        self.inboxes: dict[str, trio.MemorySendChannel[bytes]] = {}
        self.owns = False

    def publish(self, subject: str, payload: bytes) -> bool:
        self.published.append(payload)
        return True

    async def subscribe(self, subject: str, *, capacity: int) -> trio.MemoryReceiveChannel[bytes]:
        send, receive = trio.open_memory_channel[bytes](capacity)
        self.inboxes[subject] = send
        return receive

    async def acquire_lease(self, name: str, *, ttl: float) -> bool:
        return self.owns

    async def release_lease(self, name: str) -> None:
        pass


@dataclass
class StandInRoom:
    """The Room as its RoomCluster sees it; records what reaches the viewers."""

    room: str = "main"
    seq: int = 0
    calls: list[Any] = field(default_factory=list)
    lag: float = 0.0
    ages: dict[int, float] = field(default_factory=dict)  # stamped_age by seq

    def member_count(self) -> int:
        return 1

    def delivery_lag(self) -> float:
        return self.lag

    def stamped_age(self, seq: int) -> float:
        return self.ages.get(seq, 0.0)

    def holds(self, message_id: str) -> bool:
        return False

    def deliver_here(self, messages: list[ChatMessage]) -> None:
        if messages:
            self.calls.append([m.seq for m in messages])

    def accept(self, post: Post, refuse: Callable[[dict[str, Any]], None]) -> None:
        raise AssertionError("a replica accepts nothing")

    def tell(self, user: str, frame: dict[str, Any]) -> None:
        pass

    def relay(self, frame: dict[str, Any], *, to: str | None, mods: bool) -> None:
        self.calls.append(frame["type"])

    def mute(self, user: str) -> None:
        self.calls.append(f"mute {user}")

    def presence_changed(self) -> None:
        self.calls.append("presence")


def message(seq: int, action: str = "allow") -> ChatMessage:
    return ChatMessage(
        id=f"m{seq:031d}", room="main", seq=seq, user="ann", original=f"line {seq}",
        text=f"line {seq}", ts=float(seq), action=action,
    )  # fmt: skip


@dataclass
class Replica:
    room: StandInRoom
    cluster: RoomCluster
    broker: StandInBroker
    owner: RoomLink  # encodes what the owner publishes
    inbox: trio.MemorySendChannel[bytes]
    owner_broker: StandInBroker
    db: InlineDatabase

    def queue_published(self) -> None:
        """Everything the owner published so far arrives at the replica at once."""
        for payload in self.owner_broker.published:
            self.inbox.send_nowait(payload)
        self.owner_broker.published.clear()


@asynccontextmanager
async def replica(tmp_path: Path, *, owner: bool = False) -> AsyncIterator[Replica]:
    """A node's RoomCluster (a replica, or with `owner` the room's owner) and what the
    other node publishes, encoded by its own RoomLink."""
    settings = node_settings(tmp_path)
    db = InlineDatabase(settings.database_url, threads=1)
    db.upgrade()
    broker, owner_broker = StandInBroker("b"), StandInBroker("a")
    room = StandInRoom()
    link = RoomLink(broker, "main")  # type: ignore[arg-type]
    cluster = RoomCluster(link, room, db=db, settings=settings)
    cluster.owner = broker.owns = owner
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(cluster.run)
            owner = RoomLink(owner_broker, "main")  # type: ignore[arg-type]
            inbox = broker.inboxes[link.events_subject]
            yield Replica(room, cluster, broker, owner, inbox, owner_broker, db)
            nursery.cancel_scope.cancel()
    finally:
        db.dispose()


async def test_queued_messages_reach_the_room_as_one_batch_in_seq_order(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        for seq in (1, 2, 3, 4, 5, 3):  # the last one again: delivered once
            r.owner.publish_message(message(seq))
        r.queue_published()
        await trio.sleep(1)
        assert r.room.calls == [[1, 2, 3, 4, 5]]
        assert r.room.seq == 5
        r.owner.publish_message(message(6))
        r.queue_published()
        await trio.sleep(1)
        assert r.room.calls == [[1, 2, 3, 4, 5], [6]]


async def test_other_events_keep_their_place_between_batches(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        r.owner.publish_message(message(1))
        r.owner.publish_message(message(2))
        r.owner.publish_frame({"type": "notice"})
        r.owner.publish_message(message(3, action="timeout"))  # blocked, mutes its author
        r.owner.publish_message(message(4))
        r.queue_published()
        await trio.sleep(1)
        assert r.room.calls == [[1, 2], "notice", "mute ann", [3, 4]]


async def test_a_gap_is_filled_from_storage_between_the_batches_around_it(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        stored = [message(seq).to_row() for seq in (1, 2, 3, 4)]
        r.db.run_sync(repo.insert_batch, stored, [], ())
        for seq in (1, 2, 5, 6):  # 3 and 4 were published while this node was away
            r.owner.publish_message(message(seq))
        r.queue_published()
        await trio.sleep(1)
        assert r.room.calls == [[1, 2], [3, 4], [5, 6]]
        assert r.room.seq == 6


async def test_a_long_backlog_goes_in_runs_of_at_most_run_max(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        for seq in range(1, 2 * RUN_MAX + 2):
            r.owner.publish_message(message(seq))
        r.queue_published()
        await trio.sleep(1)
        assert [len(run) for run in r.room.calls] == [RUN_MAX, RUN_MAX, 1]
        assert [seq for run in r.room.calls for seq in run] == list(range(1, 2 * RUN_MAX + 2))


async def test_a_node_reports_how_far_behind_its_viewers_are_with_its_count(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        r.room.lag = 1.2346
        await trio.sleep(LEASE_TTL_SECS / 3 + 0.01)
        [report] = [decode_event(p) for p in r.broker.published]
        assert (report.node, report.presence, report.behind_ms, report.seq) == ("b", 1, 1235, 0)


async def test_the_most_lagging_node_counts_until_its_report_is_stale(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        r.owner.publish_presence(3, behind_ms=1500)
        r.owner_broker.node = "c"  # a third node
        r.owner.publish_presence(2, behind_ms=200)
        r.queue_published()
        await trio.testing.wait_all_tasks_blocked()
        assert r.cluster.delivery_lag_elsewhere() == 1.5
        assert r.cluster.viewers_elsewhere() == 5
        await trio.sleep(LAG_STALE_SECS - 0.1)
        assert r.cluster.delivery_lag_elsewhere() == 1.5
        await trio.sleep(0.2)  # neither node said anything since: the lag is not trusted
        assert r.cluster.delivery_lag_elsewhere() == 0.0
        assert r.cluster.viewers_elsewhere() == 5  # counts stay a while longer


async def test_only_a_changed_count_elsewhere_changes_the_presence_shown_here(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        for count, behind_ms in ((3, 0), (3, 1500), (3, 0), (4, 0)):  # reports each second
            r.owner.publish_presence(count, behind_ms=behind_ms)
        r.queue_published()
        await trio.testing.wait_all_tasks_blocked()
        assert r.room.calls == ["presence", "presence"]  # 3 viewers there, then 4
        # The other node stops reporting (it died): its viewers drop out of the count.
        # (stale after PRESENCE_STALE_SECS, noticed at the next heartbeat, and not at
        # the very instant this test wakes: half a heartbeat later)
        await trio.sleep(PRESENCE_STALE_SECS + 1.5 * LEASE_TTL_SECS / 3)
        assert r.room.calls == ["presence"] * 3 and r.cluster.viewers_elsewhere() == 0


async def test_the_owner_adds_the_age_of_the_messages_a_node_has_not_delivered(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path, owner=True) as r:
        r.room.ages = {40: 2.0, 48: 0.25}  # the first message after seq 40 was 2 s ago
        r.owner.publish_presence(3, behind_ms=500, seq=40)  # (here: the other node)
        r.queue_published()
        await trio.testing.wait_all_tasks_blocked()
        assert r.cluster.delivery_lag_elsewhere() == 2.5
        r.owner.publish_presence(3, behind_ms=0, seq=48)
        r.queue_published()
        await trio.testing.wait_all_tasks_blocked()
        assert r.cluster.delivery_lag_elsewhere() == 0.25


async def test_a_node_reports_its_count_again_only_when_it_changed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with replica(tmp_path) as r:
        r.cluster.report_count_change()  # 1 viewer here, the others heard of none
        r.cluster.report_count_change()  # (the room's presence changed again: same count)
        assert [decode_event(p).presence for p in r.broker.published] == [1]

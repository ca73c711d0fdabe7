"""Connection actor over a fake transport: rate limit, frame size, slow sockets, shutdown,
one write per batch, batched delivery."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio
import trio.testing
from appkit import Node, gated_offload, open_node

from actors import Crash, start_child, which_children
from safestream.chat.connection import Connection, Identity, serve_connection
from safestream.chat.protocol import SHUTDOWN_REASON, CloseCode
from safestream.chat.room_messages import RoomInfo, SetPolicy
from safestream.chat.transport import SendNow, TransportClosed
from safestream.chat.wsframes import frame_payload, split_frames
from safestream.moderation.policy import Band, RoomPolicy


class FakeTransport:
    """In-memory WebSocket: the test feeds client frames and reads what was sent."""

    def __init__(
        self, *, send_delay: float = 0.0, batched: bool = False, peer_stalls: bool = True
    ) -> None:
        """Each write takes `send_delay`: with `peer_stalls`, because the client does not
        read (the socket's buffer is full); without, because the server is busy."""
        self.batched = batched
        self.peer_stalls = peer_stalls
        self.stalled_since: float | None = None
        self._unsent: list[bytes] = []
        self._done_at: float | None = None
        self.writes: list[list[Any]] = []  # per write: the payloads of its frames
        self.write_times: list[float] = []
        self._incoming_send, self._incoming = trio.open_memory_channel[str](100)
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        self.send_delay = send_delay
        self._changed = trio.Event()

    @property
    def remote_addr(self) -> str:
        return "127.0.0.1"

    async def accept(self, subprotocol: str | None = None) -> None:
        return None

    async def receive(self) -> str:
        try:
            return await self._incoming.receive()
        except trio.EndOfChannel:
            raise TransportClosed(1000) from None

    async def send_frames(self, frames: Sequence[bytes]) -> None:
        # Like the real transport: what a cancelled write did not send goes out first,
        # and a write resumed after a cancel ends when the first attempt would have.
        if self._done_at is None:
            self._done_at = trio.current_time() + self.send_delay
        self._unsent.extend(frames)
        if self.send_delay:
            if self.peer_stalls and self.stalled_since is None:
                self.stalled_since = trio.current_time()
            await trio.sleep_until(self._done_at)
            self.stalled_since = None
        self._done_at = None
        self._record()

    def send_now(self, frames: Sequence[bytes]) -> SendNow:
        if self._done_at is not None:
            return SendNow.BUSY
        self._unsent.extend(frames)
        if self.send_delay:
            return SendNow.KEPT  # a slow write: send_frames finishes it
        self._record()
        return SendNow.WRITTEN

    def _record(self) -> None:
        frames, self._unsent = self._unsent, []
        written = split_frames(b"".join(frames))
        payloads = [json.loads(frame_payload(frame)) for frame in written]
        self.writes.append(payloads)
        self.write_times.append(trio.current_time())
        for payload in payloads:
            self.sent.extend(payload if isinstance(payload, list) else [payload])
        self._changed.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self._changed.set()

    def client_sends(self, frame: dict[str, Any] | str) -> None:
        self._incoming_send.send_nowait(frame if isinstance(frame, str) else json.dumps(frame))

    async def wait_for(self, kind: str, count: int = 1) -> list[dict[str, Any]]:
        with trio.fail_after(60):
            while len(found := [f for f in self.sent if f["type"] == kind]) < count:
                self._changed = trio.Event()
                await self._changed.wait()
        return found


def new_connection(
    node: Node, transport: FakeTransport, user: str = "ann", room: str = "main"
) -> Connection:
    return Connection(
        node.next_conn_id(),
        transport,
        Identity(user, "viewer", "127.0.0.1"),
        room,
        None,
        settings=node.parts.settings,
        metrics=node.parts.metrics,
        rooms=node.system.address("rooms"),
    )


async def connect(node: Node, transport: FakeTransport, user: str = "ann") -> Connection:
    connection = new_connection(node, transport, user)
    await start_child(node.system.address("connections"), connection.child_spec(), timeout=5)
    await transport.wait_for("history")
    return connection


async def test_rate_limit_allows_the_burst_then_refuses(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, messages_per_second=1.0, message_burst=3) as node:
        transport = FakeTransport()
        await connect(node, transport)
        for i in range(4):
            transport.client_sends({"type": "chat", "message": f"m{i}"})
        errors = await transport.wait_for("error")
        assert errors[0]["code"] == "rate_limited"
        chats = await transport.wait_for("chat", count=3)
        assert [c["message"] for c in chats] == ["m0", "m1", "m2"]
        await trio.sleep(1.0)
        transport.client_sends({"type": "chat", "message": "later"})
        assert (await transport.wait_for("chat", count=4))[3]["message"] == "later"


async def test_frame_over_max_bytes_closes_with_too_big(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, max_frame_bytes=100) as node:
        transport = FakeTransport()
        connection = await connect(node, transport)
        transport.client_sends("x" * 101)
        await connection.finished.wait()
        assert transport.closed is not None and transport.closed[0] == CloseCode.TOO_BIG


async def test_frame_exactly_max_bytes_is_parsed(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, max_frame_bytes=100) as node:
        transport = FakeTransport()
        await connect(node, transport)
        frame = json.dumps({"type": "chat", "message": "y" * 60})
        frame += " " * (100 - len(frame))
        assert len(frame) == 100
        transport.client_sends(frame)
        assert (await transport.wait_for("chat"))[0]["message"] == "y" * 60


async def test_socket_write_slower_than_limit_closes_too_slow(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, slow_consumer_secs=5.0) as node:
        transport = FakeTransport(send_delay=5.1)
        connection = new_connection(node, transport)
        await serve_connection(node.system.address("connections"), connection)
        assert transport.closed is not None and transport.closed[0] == CloseCode.TOO_SLOW
        assert node.parts.metrics.slow_consumers == 1


async def test_write_just_under_limit_is_fine(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, slow_consumer_secs=5.0) as node:
        transport = FakeTransport(send_delay=4.9)
        await connect(node, transport)
        assert transport.closed is None


async def test_a_write_slowed_by_a_busy_server_never_closes_the_viewer(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # Each write takes longer than SLOW_CONSUMER_SECS, but the socket takes the bytes:
    # the server, not the viewer, is slow. Nothing is lost or cut. (The room would
    # refuse posts as busy on delivery after a second: not what this test is about.)
    async with open_node(tmp_path, slow_consumer_secs=5.0, room_busy_delivery_ms=60_000) as node:
        transport = FakeTransport(send_delay=12.0, peer_stalls=False)
        await connect(node, transport)
        transport.client_sends({"type": "chat", "message": "still here"})
        assert (await transport.wait_for("chat"))[0]["message"] == "still here"
        assert transport.closed is None
        assert node.parts.metrics.slow_consumers == 0


async def test_ping_pong_and_error_frames_keep_the_connection(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        transport = FakeTransport()
        await connect(node, transport)
        transport.client_sends({"type": "ping"})
        transport.client_sends("{bad")
        transport.client_sends({"type": "auth", "token": "again"})
        await transport.wait_for("pong")
        codes = [e["code"] for e in await transport.wait_for("error", count=2)]
        assert codes == ["bad_json", "already_authenticated"]
        assert transport.closed is None


async def test_orderly_shutdown_closes_viewers_with_going_away(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    transport = FakeTransport()
    async with open_node(tmp_path) as node:
        await connect(node, transport)
    assert transport.closed is not None and transport.closed[0] == CloseCode.GOING_AWAY


async def test_client_leaving_removes_the_member(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        transport = FakeTransport()
        connection = await connect(node, transport)
        transport._incoming_send.close()
        await connection.finished.wait()
        await trio.testing.wait_all_tasks_blocked()
        room = await node.room()
        assert (await room.ask(RoomInfo(), timeout=1))["members"] == 0


async def test_frames_queued_together_go_out_in_one_write(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        # The socket is free: the room writes each frame itself, at once.
        free = FakeTransport()
        await connect(node, free)
        assert [[frame["type"] for frame in write] for write in free.writes] == [
            ["history"],
            ["presence"],
        ]
        # A write under way (0.5 s): what the room offers meanwhile queues, and the
        # writer sends it all in one write.
        busy = FakeTransport(send_delay=0.5, peer_stalls=False)
        await connect(node, busy, user="bob")
        assert [frame["type"] for frame in busy.writes[0]] == ["history", "presence"]


async def test_batched_client_gets_one_array_per_tick_and_loses_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path, batch_tick_ms=20.0) as node:
        transport = FakeTransport(batched=True)
        await connect(node, transport)
        bob = await node.join("bob")
        for i in range(40):
            await bob.post(f"m{i}")
            if i % 10 == 9:
                await trio.sleep(0.005)
        chats = await transport.wait_for("chat", count=40)
        assert [c["message"] for c in chats] == [f"m{i}" for i in range(40)]
        assert all(len(w) == 1 and isinstance(w[0], list) for w in transport.writes)
        assert [e["type"] for e in transport.writes[0][0]] == ["history", "presence"]
        gaps = [
            b - a for a, b in zip(transport.write_times, transport.write_times[1:], strict=False)
        ]
        assert all(gap >= 0.02 for gap in gaps)  # at most one frame per tick


async def test_an_injected_crash_ends_that_connection_only_and_it_is_not_restarted(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        ann, bob = FakeTransport(), FakeTransport()
        crashed = await connect(node, ann)
        await connect(node, bob, "bob")
        crashed.ref.tell_nowait(Crash("test"))
        with trio.fail_after(10):
            await crashed.finished.wait()
        bob.client_sends({"type": "ping"})
        await bob.wait_for("pong")
        assert bob.closed is None
        connections = node.system.address("connections")
        assert [name for name, _ in await which_children(connections, timeout=5)] == ["conn-2"]


async def test_a_socket_that_arrives_while_the_node_drains_is_closed_with_going_away(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_node(tmp_path) as node:
        node.parts.draining.set()
        transport = FakeTransport()
        connection = new_connection(node, transport)
        await start_child(node.system.address("connections"), connection.child_spec(), timeout=5)
        with trio.fail_after(10):
            await connection.finished.wait()
        assert transport.closed == (CloseCode.GOING_AWAY, SHUTDOWN_REASON)
        assert transport.sent == []


async def test_a_batch_delivered_at_once_reaches_a_viewer_in_one_write_in_order(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    gate = trio.Event()

    async with open_node(tmp_path, offload=gated_offload(gate)) as node:
        transport = FakeTransport()
        await connect(node, transport)
        room = await node.room()
        await room.tell(SetPolicy(RoomPolicy(bands=(Band("toxicity", 0.9, "block"),))))
        bob = await node.join("bob")
        await bob.post("one")  # taken by the model alone; the rest queue behind it
        await trio.testing.wait_all_tasks_blocked()
        await bob.post("two")
        transport.client_sends({"type": "chat", "message": "fuck you"})  # ann's, blocked
        await trio.testing.wait_all_tasks_blocked()
        await bob.post("three")
        before = len(transport.writes)
        gate.set()
        await transport.wait_for("chat", count=3)
        told = [
            [(f["type"], f.get("message")) for f in write] for write in transport.writes[before:]
        ]
        assert told == [
            [("chat", "one")],
            [("chat", "two"), ("blocked", "fuck you"), ("chat", "three")],  # one write
        ]

"""Connection: the actor behind one authenticated WebSocket (a reader and a writer task).

The reader parses client frames (sans-IO protocol), applies the per-connection rate
limit and tells its Room; the writer drains the bounded outbox the Room fills with
finished frames and writes everything queued in one write (a batched client's room
sends it one array frame per `BATCH_TICK_MS` tick, see `chat/tick.py`). A viewer whose
socket has refused bytes for `SLOW_CONSUMER_SECS` (it stopped reading), or whose outbox
overflows while its socket is full, is closed with `TOO_SLOW`; a write that is only slow
because the server is busy is never held against the viewer (see `chat/outbox.py`).
On a graceful stop (server shutdown) the viewer is closed with `GOING_AWAY`.

A Connection finds its Room by asking the RoomSupervisor (`open_room`); a room that is
invalid, full or fails to start closes the socket with `TRY_AGAIN_LATER` (1013), and
`finished` is set however `run` ends, so the socket's handler always gets its slot back.
While the node is shutting down the RoomSupervisor refuses joins, and a new socket is
closed with `GOING_AWAY` (reconnect later with `?since=`) before it joins.

Example:
    connection = Connection(conn_id, transport, identity, "main", None,
                            settings=settings, metrics=metrics, rooms=system.address("rooms"))
    await serve_connection(system.address("connections"), connection)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trio

from actors import (
    Actor,
    ActorError,
    ActorRef,
    Address,
    ChildSpec,
    MailboxFull,
    Restart,
    start_child,
)
from safestream.chat.limits import TokenBucket
from safestream.chat.outbox import Outbox
from safestream.chat.protocol import (
    ROOM_RESTART_REASON,
    SHUTDOWN_REASON,
    AuthFrame,
    ChatFrame,
    CloseCode,
    PingFrame,
    ProtocolError,
    error_frame,
    parse_client_frame,
)
from safestream.chat.room_messages import Join, Leave, Post
from safestream.chat.room_supervisor import (
    InvalidRoom,
    RoomUnavailable,
    ShuttingDown,
    open_room,
)
from safestream.chat.transport import SendNow, TransportClosed, WebSocketTransport
from safestream.chat.wsframes import batch_frame, event_frame
from safestream.metrics import Metrics
from safestream.settings import Settings

__all__ = ["Connection", "Identity", "serve_connection"]

CLOSE_TIMEOUT_SECS = 2.0
JOIN_TIMEOUT_SECS = 10.0
PONG = event_frame({"type": "pong"})


@dataclass(frozen=True)
class Identity:
    """Who is on the other end: the authenticated user and their role."""

    user: str
    role: str
    ip: str


class Connection(Actor):
    """One WebSocket. Restart type TEMPORARY: a dead socket is never restarted."""

    kind = "connection"
    mailbox_capacity = 4

    def __init__(
        self,
        conn_id: int,
        transport: WebSocketTransport,
        identity: Identity,
        room: str,
        since: int | None,
        *,
        settings: Settings,
        metrics: Metrics,
        rooms: Address,
    ) -> None:
        self.conn_id = conn_id
        self.identity = identity
        self.room_name = room
        self.finished = trio.Event()
        self._transport = transport
        self._since = since
        self._settings = settings
        self._metrics = metrics
        self._rooms = rooms
        self._outbox = Outbox(
            settings.connection_outbox_size,
            limit=settings.connection_outbox_limit,
            stalled=lambda: transport.stalled_since is not None,
            # A room's frames go straight to the socket when nothing is queued.
            write_now=transport.send_now,
        )
        self._bucket = TokenBucket(
            rate=settings.messages_per_second, burst=settings.message_burst, now=trio.current_time()
        )
        self._received = 0

    def child_spec(self) -> ChildSpec:
        return ChildSpec(
            name=f"conn-{self.conn_id}",
            factory=lambda: self,
            restart=Restart.TEMPORARY,
            shutdown_timeout=CLOSE_TIMEOUT_SECS,
            mailbox_capacity=self.mailbox_capacity,
        )

    async def run(self) -> None:
        try:
            await self._serve()
        finally:
            self.finished.set()

    async def _join(self) -> ActorRef[Any] | None:
        """The joined room, or None after closing the outbox with TRY_AGAIN_LATER."""
        try:
            room = await open_room(self._rooms, self.room_name, timeout=JOIN_TIMEOUT_SECS)
            joined = Join(
                self.conn_id,
                self.identity.user,
                self.identity.role,
                self._outbox,
                self._since,
                batched=self._transport.batched,
            )
            await room.ask(joined, timeout=JOIN_TIMEOUT_SECS)
        except ShuttingDown:
            self._outbox.close(CloseCode.GOING_AWAY, SHUTDOWN_REASON)
            return None
        except (InvalidRoom, RoomUnavailable, ActorError) as exc:
            self._outbox.close(CloseCode.TRY_AGAIN_LATER, f"cannot join room: {exc}"[:120])
            return None
        return room

    async def _serve(self) -> None:
        room = await self._join()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer, nursery.cancel_scope)
                if room is not None:
                    nursery.start_soon(self._reader, room, nursery.cancel_scope)
                    nursery.start_soon(self._serve_mailbox)
        finally:
            # A closed outbox refuses offers, so the room drops this member even if the
            # Leave below cannot reach it.
            self._outbox.close(CloseCode.NORMAL, "connection closed")
            if room is not None:
                try:
                    room.tell_nowait(Leave(self.conn_id))
                except ActorError:
                    pass  # room gone or full: it drops members whose outbox is closed

    async def _serve_mailbox(self) -> None:
        """No chat traffic comes through the mailbox; serving it until a stop is
        requested lets fault injection's `Crash` crash a Connection as any actor."""
        await Actor.run(self)
        self._outbox.close(CloseCode.GOING_AWAY, SHUTDOWN_REASON)

    async def _reader(self, room: ActorRef[Any], scope: trio.CancelScope) -> None:
        settings = self._settings
        try:
            while True:
                raw = await self._transport.receive()
                self._received += 1
                if len(raw) > settings.max_frame_bytes:
                    self._outbox.close(CloseCode.TOO_BIG, "frame too big")
                    return
                if not self._bucket.take(now=trio.current_time()):
                    self._metrics.refused["rate_limited"] += 1
                    retry = self._bucket.retry_after()
                    self._error("rate_limited", f"too many messages, retry in {retry:.1f}s")
                    continue
                try:
                    frame = parse_client_frame(raw, max_message_length=settings.max_message_length)
                except ProtocolError as exc:
                    self._error(exc.code, exc.detail)
                    continue
                self._handle_frame(frame, room)
        except TransportClosed:
            scope.cancel()

    def _handle_frame(self, frame: ChatFrame | AuthFrame | PingFrame, room: ActorRef[Any]) -> None:
        match frame:
            case ChatFrame(message=text):
                post = Post(self.conn_id, self.identity.user, self.identity.role, text)
                try:
                    room.tell_nowait(post)
                except MailboxFull:
                    self._metrics.refused["room_busy"] += 1
                    self._metrics.room_busy["mailbox"] += 1
                    self._error("room_busy", "room is busy (its mailbox is full), try again")
                except ActorError:
                    self._outbox.close(CloseCode.SERVICE_RESTART, ROOM_RESTART_REASON)
            case PingFrame():
                self._reply(PONG)
            case AuthFrame():
                self._error("already_authenticated", "this connection is already authenticated")

    def _error(self, code: str, detail: str) -> None:
        self._reply(event_frame(error_frame(code, detail)))

    def _reply(self, frame: bytes) -> None:
        """An answer to the client's own frame, at once (a batched client gets an array
        of one: its room's arrays are built per tick, see `chat/tick.py`)."""
        self._outbox.offer(batch_frame([frame]) if self._transport.batched else frame)

    async def _writer(self, scope: trio.CancelScope) -> None:
        # Everything queued goes out in one write (a batched client's frames are already
        # arrays: its room builds one per tick).
        try:
            while frames := await self._outbox.next_batch():
                if not await self._write(frames):
                    break
            request = self._outbox.close_request
            with trio.move_on_after(CLOSE_TIMEOUT_SECS) as closing:
                closing.shield = True
                if request is not None:
                    await self._transport.close(request.code, request.reason)
        except TransportClosed:
            pass
        scope.cancel()

    async def _write(self, frames: list[bytes]) -> bool:
        """Write `frames`; False (and the outbox closed `TOO_SLOW`) once the viewer's
        socket has refused bytes for `SLOW_CONSUMER_SECS`. A write that is merely slow,
        because the server is too busy to run it, is never cut off: that is the room's
        backlog, answered with `room_busy` to senders, not the viewer's fault."""
        match self._transport.send_now(frames):
            case SendNow.WRITTEN:
                return True
            case SendNow.KEPT:
                frames = []  # the timed write below finishes what the transport kept
        slow = self._settings.slow_consumer_secs
        while True:
            with trio.move_on_after(slow) as timer:
                await self._transport.send_frames(frames)
            if not timer.cancelled_caught:
                return True
            stalled = self._transport.stalled_since
            if stalled is not None and trio.current_time() - stalled >= slow:
                self._metrics.slow_consumers += 1
                reason = "too slow: not reading, reconnect with ?since="
                self._outbox.close(CloseCode.TOO_SLOW, reason)
                return False
            frames = []  # the transport kept what it had not written: it goes out first

    def introspect(self) -> dict[str, Any]:
        stats = self._outbox.statistics()
        return {
            "user": self.identity.user,
            "room": self.room_name,
            "outbox": stats.depth,
            "outbox_capacity": stats.capacity,
            "shed": stats.shed,
            "stalled": self._transport.stalled_since is not None,
            "received": self._received,
            "sent": stats.offered - stats.depth,  # written, or handed to the socket
        }


async def serve_connection(connections: Address, connection: Connection) -> None:
    """Run `connection` under the connections supervisor until it has finished.

    Raises:
        ActorError: the supervisor could not be asked (the node is stopping).
        Exception: the connection could not be started.
    """
    await start_child(connections, connection.child_spec(), timeout=JOIN_TIMEOUT_SECS)
    await connection.finished.wait()

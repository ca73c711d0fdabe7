"""Chat peers for chaos tests: clients that keep the books on what was acknowledged.

A `Peer` is one user on one chat socket in one room, speaking only the documented
protocol (docs/protocol.md). It reconnects with `?since=<last seq seen>` whenever the
server closes its socket (or is down), records every close code, and counts:

- `acked`: its own messages whose `chat` echo it received (text -> (id, seq));
- `seen`: every chat message it received, live or recovered (seq -> id), with
  `duplicates` (the same seq twice) and `conflicts` (one seq, two ids);
- answers: each chat frame it sends is answered by its echo, an `error`, `held` or
  `blocked` frame; `pending` is what the current socket has not answered yet.

`check_recovery` then compares the peers' books with the stored history.

Example:
    async with trio.open_nursery() as nursery:
        peers = await chatting_peers(nursery, node, ["ann", "bob"], send_every=0.25)
        await wait_until(lambda: all(len(p.acked) >= 5 for p in peers), what="chat")
        await quiesce(peers)
        check_recovery(peers, await node.history("main"))
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

import trio
from chaoskit import Node, wait_until
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection

from safestream.chat_client import open_chat_socket

RECONNECT_SECS = 0.2
# Codes after which a client reconnects with ?since= (docs/protocol.md); 1006 is what a
# client sees when the server process dies without a close frame.
RECOVER_CODES = frozenset({1001, 1006, 1011, 1012, 4008})


async def chatting_peers(
    nursery: trio.Nursery, node: Node, users: Iterable[str], **options: Any
) -> list[Peer]:
    """Register `users` and start one chatting Peer each; wait until all are connected."""
    peers = [Peer(node, user, await node.register(user), **options) for user in users]
    for peer in peers:
        nursery.start_soon(peer.run)
    await wait_until(lambda: all(p.connected for p in peers), what="every peer connected")
    return peers


async def quiesce(peers: Iterable[Peer]) -> None:
    """Stop sending and wait until every message on an open socket has been answered
    (echo, error, held or blocked): the server never loses one silently."""
    peers = list(peers)
    for peer in peers:
        peer.sending = False
    await wait_until(
        lambda: all(p.pending == 0 for p in peers),
        what=lambda: (
            f"an answer to every message sent, unanswered: { {p.user: p.pending for p in peers} }"
        ),
    )


class Peer:
    """One user's chat socket that chats (when `send_every` is set) and recovers."""

    def __init__(
        self, node: Node, user: str, token: str, *, room: str = "main", send_every: float = 0.0
    ) -> None:
        self.node = node
        self.user = user
        self.room = room
        self._token = token
        self._send_every = send_every
        self._stop = trio.Event()
        self._ws: WebSocketConnection | None = None
        self.sending = send_every > 0
        self.connected = False
        self.sessions = 0
        self.refused = 0  # connection attempts that failed (server down)
        self.closes: list[tuple[int | None, str | None]] = []
        self.seen: dict[int, str] = {}
        self.duplicates: list[int] = []
        self.conflicts: list[int] = []
        self.unrecovered = 0  # history frames with recovered: false after a `since`
        self.sent: list[str] = []
        self.acked: dict[str, tuple[str, int]] = {}
        self.errors: Counter[str] = Counter()
        self.held: list[dict[str, Any]] = []  # held frames (own or, for moderators, others')
        self.chats: list[dict[str, Any]] = []  # live chat frames, in order
        self.gifts = 0
        self.pending = 0  # sent on this socket and not answered yet
        self.unanswered_at_close = 0  # sent on a socket that closed before answering
        self.log: list[str] = []  # sessions, history frames and closes, for failures

    @property
    def last_seq(self) -> int | None:
        return max(self.seen) if self.seen else None

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Connect, chat and reconnect with `?since=` until `stop()` or a final close."""
        while not self._stop.is_set():
            try:
                await self._session()
            except (OSError, HandshakeError):
                self.refused += 1
            if self.closes and self.closes[-1][0] not in RECOVER_CODES:
                return  # kicked, banned, refused: a client does not retry blindly
            with trio.move_on_after(RECONNECT_SECS):
                await self._stop.wait()

    async def _session(self) -> None:
        query = f"?room={self.room}"
        if self.last_seq is not None:
            query += f"&since={self.last_seq}"
        async with open_chat_socket(f"{self.node.ws_url}/ws/{self.user}{query}") as ws:
            await ws.send_message(json.dumps({"type": "auth", "token": self._token}))
            self.log.append(f"open {query}")
            self.sessions += 1
            self.pending = 0
            self._ws = ws
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, ws, nursery.cancel_scope)
                nursery.start_soon(self._chat_loop, ws)
                await self._stop.wait()
                nursery.cancel_scope.cancel()
            self.connected = False

    async def _read(self, ws: WebSocketConnection, scope: trio.CancelScope) -> None:
        try:
            while True:
                self._on_frame(json.loads(await ws.get_message()))
        except ConnectionClosed as exc:
            self.connected = False
            self.closes.append((exc.reason.code, exc.reason.reason))
            self.log.append(f"closed {exc.reason.code} after seq {self.last_seq}")
            self.unanswered_at_close += self.pending
            self.pending = 0
            scope.cancel()

    async def _chat_loop(self, ws: WebSocketConnection) -> None:
        if not self._send_every:
            return
        while True:
            if self.connected and self.sending:
                try:
                    await self.say(f"{self.user} says {len(self.sent)}")
                except ConnectionClosed:
                    return
            await trio.sleep(self._send_every)

    async def say(self, text: str) -> None:
        """Send one chat line now on the current socket (after `wait_connected`)."""
        assert self._ws is not None and self.connected, f"{self.user} is not connected"
        await self._ws.send_message(json.dumps({"type": "chat", "message": text}))
        self.sent.append(text)
        self.pending += 1

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "history":
            seqs = [m["seq"] for m in frame["messages"]]
            self.log.append(f"history seq={frame['seq']} recovered={frame.get('recovered')} {seqs}")
            if frame.get("recovered") is False and self.seen:
                self.unrecovered += 1
            for message in frame["messages"]:
                self._on_chat(message, live=False)
            self.connected = True
        elif kind == "chat":
            self.chats.append(frame)
            self._on_chat(frame, live=True)
        elif kind == "error":
            self.errors[frame["code"]] += 1
            self._answered()
        elif kind in ("held", "blocked"):
            self.held.append(frame)
            if frame.get("user") == self.user:
                self._answered()
        elif kind == "gift":
            self.gifts += 1

    def _on_chat(self, message: dict[str, Any], *, live: bool) -> None:
        seq, message_id = message["seq"], message["id"]
        known = self.seen.get(seq)
        if known is not None:
            (self.duplicates if known == message_id else self.conflicts).append(seq)
        self.seen[seq] = message_id
        if message["user"] == self.user:
            self.acked[message["message"]] = (message_id, seq)
            if live:
                self._answered()

    def _answered(self) -> None:
        self.pending = max(0, self.pending - 1)


class FeedWatcher:
    """A moderator on the live events socket (`/api/admin/events/ws`), reconnecting when
    it ends; counts events by kind."""

    def __init__(self, node: Node, user: str = "test_streamer") -> None:
        self.node = node
        self.user = user
        self.events: Counter[str] = Counter()
        self.sessions = 0
        self._stop = trio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, HandshakeError, ConnectionClosed):
                await self._session()
            with trio.move_on_after(RECONNECT_SECS):
                await self._stop.wait()

    async def _session(self) -> None:
        async with open_chat_socket(f"{self.node.ws_url}/api/admin/events/ws") as ws:
            token = self.node.tokens[self.user]
            await ws.send_message(json.dumps({"type": "auth", "token": token}))
            self.sessions += 1
            async with trio.open_nursery() as nursery:

                async def read() -> None:
                    with contextlib.suppress(ConnectionClosed):
                        while True:
                            self.events[json.loads(await ws.get_message())["type"]] += 1
                    nursery.cancel_scope.cancel()

                nursery.start_soon(read)
                await self._stop.wait()
                nursery.cancel_scope.cancel()


def check_recovery(peers: Iterable[Peer], history: list[dict[str, Any]]) -> None:
    """No acknowledged message lost; each viewer saw each message once, with no gaps.

    Every message a sender saw echoed is stored with the same id and seq; the stored
    history has no duplicate ids or seqs; every message a viewer saw is stored, and every
    stored message between the first and last a viewer saw reached it exactly once.
    """
    by_seq = {message["seq"]: message["id"] for message in history}
    assert len(by_seq) == len(history), "a seq is stored twice"
    assert len({message["id"] for message in history}) == len(history), "an id is stored twice"
    for peer in peers:
        stored = {m["message"]: (m["id"], m["seq"]) for m in history if m["user"] == peer.user}
        lost = {text: ack for text, ack in peer.acked.items() if stored.get(text) != ack}
        assert not lost, f"{peer.user}: acknowledged but not stored: {lost}"
        assert peer.duplicates == [], f"{peer.user} got seqs twice: {peer.duplicates}"
        assert peer.conflicts == [], f"{peer.user} got two ids for seqs {peer.conflicts}"
        assert peer.unrecovered == 0, f"{peer.user}: a `since` was not recovered"
        unknown = {seq: i for seq, i in peer.seen.items() if by_seq.get(seq) != i}
        assert not unknown, f"{peer.user} saw messages that are not stored: {unknown}"
        if peer.seen:
            first, last = min(peer.seen), max(peer.seen)
            gaps = [seq for seq in by_seq if first <= seq <= last and seq not in peer.seen]
            assert gaps == [], f"{peer.user} never got stored messages {gaps}: {peer.log}"

"""RoomLink: one room's link to the same room on the other nodes.

Each room has one **owner** at a time: the node holding the lease `room.<name>` on the
broker (renewed every `LEASE_TTL_SECS / 3`). The owner alone stamps sequence numbers,
runs moderation and stores messages, so every node agrees on one order and a message is
moderated once. Other nodes run the room as a **replica**: they forward their viewers'
posts to the owner (`room.<name>.posts`) and deliver what the owner publishes
(`room.<name>.events`) to their own viewers. Messages are stored before they are
published, so a replica that sees a gap in `seq` fills it from the database, and a node
that takes a room over (the owner's lease lapsed) starts from the database's last `seq`.

Envelopes are JSON with a version; a malformed one (another version, a stray publisher)
is dropped and counted, never trusted.

Example:
    link = RoomLink(broker_client, "main")
    owner = await link.try_own()
    link.publish_message(message)               # owner: every node delivers it
    link.forward_post(post_envelope)            # replica: the owner decides
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from safestream.chat.frames import ChatMessage
from safestream.cluster.actor import BrokerClient
from safestream.cluster.broker import BrokerUnavailable

__all__ = [
    "LEASE_TTL_SECS",
    "Malformed",
    "RemoteEvent",
    "RemotePost",
    "RoomLink",
    "decode_event",
    "decode_post",
]

VERSION = 1
LEASE_TTL_SECS = 3.0
SUBSCRIPTION_CAPACITY = 4096
_MESSAGE_FIELDS = {f.name for f in dataclasses.fields(ChatMessage)}


class Malformed(ValueError):
    """An envelope from the broker that this version cannot trust."""


@dataclass(frozen=True)
class RemotePost:
    """A viewer's post on another node, forwarded to the owner."""

    node: str
    user: str
    role: str
    text: str


@dataclass(frozen=True)
class RemoteEvent:
    """What the owner (or any node, for gifts and notices) published for the room.

    Exactly one of `message` (a decided chat message, with its `seq`) and `frame` (a
    server frame: to everyone, or only to `to` and, with `mods`, the moderators) is set;
    `presence` carries a node's own viewer count in the room, with `behind_ms` (how far
    behind delivery to them is, `Room.delivery_lag`) and `seq` (the last message it
    delivered): from these the owner tells how far behind the node is, and refuses
    posts while it is, as it does while its own viewers are.
    """

    node: str
    message: ChatMessage | None = None
    approved: bool = False
    frame: dict[str, Any] | None = None
    to: str | None = None
    mods: bool = False
    presence: int | None = None
    behind_ms: int = 0
    seq: int | None = None


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps({"v": VERSION, **body}, separators=(",", ":")).encode()


def _load(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Malformed("not JSON") from exc
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise Malformed("unknown envelope version")
    if not isinstance(data.get("node"), str):
        raise Malformed("no node")
    return data


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def decode_post(payload: bytes, *, max_length: int) -> RemotePost:
    data = _load(payload)
    fields = [data.get(name) for name in ("user", "role", "text")]
    if not all(isinstance(value, str) and value for value in fields):
        raise Malformed("a post needs user, role and text")
    user, role, text = (str(value) for value in fields)
    if len(text) > max_length or len(user) > 64:
        raise Malformed("post too long")
    return RemotePost(node=data["node"], user=user, role=role, text=text)


def decode_event(payload: bytes) -> RemoteEvent:
    data = _load(payload)
    node = data["node"]
    if "presence" in data:
        presence, behind_ms, seq = data["presence"], data.get("behind_ms", 0), data.get("seq")
        if not all(_count(value) for value in (presence, behind_ms)):
            raise Malformed("bad presence")
        if seq is not None and not _count(seq):
            raise Malformed("bad seq")
        return RemoteEvent(node=node, presence=presence, behind_ms=behind_ms, seq=seq)
    if "message" in data:
        raw = data["message"]
        if not isinstance(raw, dict) or set(raw) != _MESSAGE_FIELDS:
            raise Malformed("bad message")
        try:
            message = ChatMessage(
                **{**raw, "triggers": tuple(raw["triggers"]), "scores": dict(raw["scores"])}
            )
        except (TypeError, ValueError) as exc:
            raise Malformed("bad message") from exc
        if not isinstance(message.seq, int) or not isinstance(message.user, str):
            raise Malformed("bad message")
        return RemoteEvent(node=node, message=message, approved=bool(data.get("approved")))
    frame = data.get("frame")
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise Malformed("an event needs a message, a frame or a presence count")
    to = data.get("to")
    if to is not None and not isinstance(to, str):
        raise Malformed("bad recipient")
    return RemoteEvent(node=node, frame=frame, to=to, mods=bool(data.get("mods")))


class RoomLink:
    """The broker subjects and the lease of one room, for its Room actor."""

    def __init__(self, broker: BrokerClient, room: str) -> None:
        self._broker = broker
        self.room = room
        self.lease = f"room.{room}"
        self.events_subject = f"room.{room}.events"
        self.posts_subject = f"room.{room}.posts"

    @property
    def node(self) -> str:
        return self._broker.node

    @property
    def reconnects(self) -> int:
        """How often the broker connection was made again (events may have been missed)."""
        return self._broker.status.reconnects

    async def try_own(self) -> bool:
        """Take or renew the room's lease: True when this node owns the room now.

        Raises:
            BrokerUnavailable: the broker cannot be asked (ownership is unknown).
        """
        return await self._broker.acquire_lease(self.lease, ttl=LEASE_TTL_SECS)

    async def release(self) -> None:
        try:
            await self._broker.release_lease(self.lease)
        except BrokerUnavailable:
            pass  # the lease lapses by itself within LEASE_TTL_SECS

    async def subscribe(self) -> tuple[Any, Any]:
        """(events, posts): bounded channels of raw envelopes for this room."""
        events = await self._broker.subscribe(self.events_subject, capacity=SUBSCRIPTION_CAPACITY)
        posts = await self._broker.subscribe(self.posts_subject, capacity=SUBSCRIPTION_CAPACITY)
        return events, posts

    def publish_message(self, message: ChatMessage, *, approved: bool = False) -> None:
        body = dataclasses.asdict(message)
        self._broker.publish(
            self.events_subject, _dump({"node": self.node, "message": body, "approved": approved})
        )

    def publish_frame(
        self, frame: dict[str, Any], *, to: str | None = None, mods: bool = False
    ) -> None:
        self._broker.publish(
            self.events_subject, _dump({"node": self.node, "frame": frame, "to": to, "mods": mods})
        )

    def publish_presence(self, viewers: int, *, behind_ms: int = 0, seq: int | None = None) -> None:
        body = {"node": self.node, "presence": viewers, "behind_ms": behind_ms, "seq": seq}
        self._broker.publish(self.events_subject, _dump(body))

    def forward_post(self, user: str, role: str, text: str) -> None:
        self._broker.publish(
            self.posts_subject,
            _dump({"node": self.node, "user": user, "role": role, "text": text}),
        )

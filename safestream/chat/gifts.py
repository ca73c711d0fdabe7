"""GiftProducer: the actor that sends gifts, random ones every GIFT_INTERVAL_SECS.

Every gift (random, or sent with `POST /api/gift`) goes through this actor: it is stored
(durably, before anyone sees it), counted, and broadcast to its room as the original
`{"type":"gift","from","gift_id","amount","ts"}` frame.

Gifts are shown only in rooms that are running (found in the registry); a gift to a room
nobody watches is stored and counted but not shown.

Example:
    producer = GiftProducer(interval=15, clock=time.time, store=store_address, metrics=m)
    await gifts_ref.ask(SendGift(room="main", sender="ann", gift_id=2, amount=5), timeout=5)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from actors import Actor, ActorError, Address
from safestream.chat.frames import gift_frame
from safestream.chat.room_messages import Broadcast
from safestream.chat.room_supervisor import running_room, running_rooms
from safestream.metrics import Metrics
from safestream.store.records import GiftRow
from safestream.store.writer import Persist

__all__ = ["GIFT_CATALOGUE", "GiftProducer", "SendGift"]

# gift_id -> name, as the UI shows them.
GIFT_CATALOGUE = {1: "rose", 2: "heart", 3: "star", 4: "rocket", 5: "crown"}
RANDOM_SENDERS = ("demo_user", "test_streamer", "chat_viewer", "gift_bot")
MAX_AMOUNT = 1_000  # per gift; GIFTS_PER_MINUTE bounds how often (issue 11)


@dataclass(frozen=True)
class SendGift:
    """Ask: store and broadcast one gift; answers the frame that was sent."""

    room: str
    sender: str
    gift_id: int
    amount: int

    def __post_init__(self) -> None:
        if self.gift_id not in GIFT_CATALOGUE:
            raise ValueError(f"gift_id must be one of {sorted(GIFT_CATALOGUE)}")
        if not 1 <= self.amount <= MAX_AMOUNT:
            raise ValueError(f"amount must be between 1 and {MAX_AMOUNT}")


class GiftProducer(Actor):
    """Sends random gifts to every running room and handles SendGift asks."""

    kind = "gift_producer"

    def __init__(
        self,
        *,
        interval: float,
        clock: Callable[[], float],
        store: Address,
        metrics: Metrics,
        rng: random.Random | None = None,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._store = store
        self._metrics = metrics
        self._rng = rng or random.Random()
        self._sent = 0

    async def run(self) -> None:
        interval = self._interval
        async with trio.open_nursery() as nursery:
            if interval > 0:
                nursery.start_soon(self._random_gifts, interval)
            await super().run()
            nursery.cancel_scope.cancel()

    async def handle(self, message: Any) -> Any:
        if isinstance(message, SendGift):
            return await self._send(message)
        return await super().handle(message)

    async def _random_gifts(self, interval: float) -> None:
        while True:
            await trio.sleep(interval)
            for room, _ref in running_rooms(self.system.registry):
                gift = SendGift(
                    room=room,
                    sender=self._rng.choice(RANDOM_SENDERS),
                    gift_id=self._rng.choice(sorted(GIFT_CATALOGUE)),
                    amount=self._rng.randint(1, 100),
                )
                await self.ref.tell(gift)

    async def _send(self, gift: SendGift) -> dict[str, Any]:
        ts = self._clock()
        row = GiftRow(
            room=gift.room, from_user=gift.sender, gift_id=gift.gift_id, amount=gift.amount, ts=ts
        )
        await self._store.ask(Persist(gifts=(row,)), timeout=10.0)
        self._metrics.gift_count += 1
        self._sent += 1
        frame = gift_frame(
            room=gift.room, sender=gift.sender, gift_id=gift.gift_id, amount=gift.amount, ts=ts
        )
        room = running_room(self.system.registry, gift.room)
        try:
            if room is None:
                raise ActorError(f"room {gift.room!r} is not running")
            room.tell_nowait(Broadcast(frame, optional=True))
        except ActorError:
            # Stored and counted, but a room that is gone or cannot take one more frame
            # skips it.
            self._metrics.refused["gift_not_shown"] += 1
        return frame

    def introspect(self) -> dict[str, Any]:
        return {
            "sent": self._sent,
            "interval_secs": self._interval,
        }

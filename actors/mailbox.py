"""A bounded mailbox with an explicit overflow policy.

A :class:`Mailbox` is a FIFO queue of fixed capacity. Its methods are named as a queue's
(``put``/``get``, as :class:`queue.Queue`), in trio's ``X``/``X_nowait`` pairs
(``put_nowait``, ``get_nowait``) with a ``statistics()`` snapshot, as trio's channels
have. What happens when it is full is chosen per mailbox by an :class:`OverflowPolicy`:

* ``BLOCK``: ``put`` waits for room; ``put_nowait`` raises :class:`MailboxFull`.
* ``DROP_NEWEST``: the item being put is discarded.
* ``DROP_OLDEST``: the oldest queued item is evicted to make room.
* ``FAIL``: ``put`` and ``put_nowait`` raise :class:`MailboxFull`.

Discarded items are passed to the optional ``on_drop`` callback; the actor runtime uses it
to fail the reply of a dropped ask with :class:`MailboxFull`, so no asker waits forever.

It is a deque guarded by two :class:`trio.lowlevel.ParkingLot` objects rather than a
memory channel, because ``DROP_OLDEST`` needs to evict from the receiving end.

Example::

    box: Mailbox[str] = Mailbox(2, OverflowPolicy.DROP_OLDEST)
    box.put_nowait("a"); box.put_nowait("b"); box.put_nowait("c")
    assert box.drain_nowait() == ["b", "c"]
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import trio

from .errors import MailboxClosed, MailboxFull

__all__ = ["Mailbox", "MailboxStatistics", "OverflowPolicy"]

T = TypeVar("T")


class OverflowPolicy(enum.Enum):
    """What a full mailbox does with one more item."""

    BLOCK = "block"
    DROP_NEWEST = "drop_newest"
    DROP_OLDEST = "drop_oldest"
    FAIL = "fail"


@dataclass(frozen=True)
class MailboxStatistics:
    """A point-in-time view of a mailbox.

    Attributes:
        depth: Items queued now.
        capacity: Maximum number of queued items.
        sent: Items ever accepted into the queue (dropped newest items are not counted).
        dropped: Items discarded by a drop policy.
        policy: The overflow policy's value, e.g. ``"block"``.
    """

    depth: int
    capacity: int
    sent: int
    dropped: int
    policy: str


class Mailbox(Generic[T]):
    """A bounded FIFO queue with an overflow policy.

    Args:
        capacity: Maximum number of queued items; at least 1.
        policy: What to do when full (see :class:`OverflowPolicy`).
        on_drop: Called with every item a drop policy discards (after it is counted in
            ``dropped``). Must not raise.

    Raises:
        ValueError: If ``capacity`` is less than 1.
    """

    def __init__(
        self,
        capacity: int,
        policy: OverflowPolicy = OverflowPolicy.BLOCK,
        *,
        on_drop: Callable[[T], None] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._policy = policy
        self._on_drop = on_drop
        self._items: deque[T] = deque()
        self._getters = trio.lowlevel.ParkingLot()
        self._putters = trio.lowlevel.ParkingLot()
        self._closed = False
        self._sent = 0
        self._dropped = 0

    @property
    def capacity(self) -> int:
        """Maximum number of queued items."""
        return self._capacity

    @property
    def policy(self) -> OverflowPolicy:
        """The overflow policy."""
        return self._policy

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, item: T) -> None:
        self._dropped += 1
        if self._on_drop is not None:
            self._on_drop(item)

    def _enqueue(self, item: T) -> None:
        self._items.append(item)
        self._sent += 1
        self._getters.unpark()

    def _try_put(self, item: T) -> bool:
        """Put without waiting; False only when BLOCK must wait for room."""
        if self._closed:
            raise MailboxClosed("mailbox is closed")
        if len(self._items) < self._capacity:
            self._enqueue(item)
            return True
        if self._policy is OverflowPolicy.DROP_NEWEST:
            self._drop(item)
            return True
        if self._policy is OverflowPolicy.DROP_OLDEST:
            self._drop(self._items.popleft())
            self._enqueue(item)
            return True
        if self._policy is OverflowPolicy.FAIL:
            raise MailboxFull(f"mailbox full (capacity {self._capacity})")
        return False

    def put_nowait(self, item: T) -> None:
        """Put ``item`` without waiting.

        Raises:
            MailboxFull: If full and the policy is ``BLOCK`` or ``FAIL``.
            MailboxClosed: If the mailbox is closed.
        """
        if not self._try_put(item):
            raise MailboxFull(f"mailbox full (capacity {self._capacity})")

    async def put(self, item: T) -> None:
        """Put ``item``, waiting for room under ``BLOCK``.

        Cancellation while waiting leaves the mailbox unchanged (the item is not queued).

        Raises:
            MailboxFull: If full and the policy is ``FAIL``.
            MailboxClosed: If the mailbox is or becomes closed before the item is queued.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._try_put(item):
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        while True:
            await self._putters.park()
            if self._try_put(item):
                if len(self._items) < self._capacity:
                    self._putters.unpark()
                return

    def get_nowait(self) -> T:
        """Take the oldest item without waiting.

        Raises:
            trio.WouldBlock: If the mailbox is empty and open.
            MailboxClosed: If the mailbox is empty and closed.
        """
        if self._items:
            item = self._items.popleft()
            self._putters.unpark()
            return item
        if self._closed:
            raise MailboxClosed("mailbox is closed")
        raise trio.WouldBlock

    async def get(self) -> T:
        """Take the oldest item, waiting for one if empty.

        Cancellation while waiting takes nothing.

        Raises:
            MailboxClosed: If the mailbox is closed and empty.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            item = self.get_nowait()
        except trio.WouldBlock:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return item
        while True:
            await self._getters.park()
            try:
                item = self.get_nowait()
            except trio.WouldBlock:
                continue
            if self._items:
                self._getters.unpark()
            return item

    def drain_nowait(self) -> list[T]:
        """Take every item queued now (possibly none), oldest first."""
        items = list(self._items)
        self._items.clear()
        self._putters.unpark_all()
        return items

    def close(self) -> None:
        """Refuse further puts; gets drain what is left, then raise MailboxClosed.

        Tasks blocked in :meth:`put` wake up with :class:`MailboxClosed`. Idempotent.
        """
        self._closed = True
        self._getters.unpark_all()
        self._putters.unpark_all()

    def close_and_drain(self) -> list[T]:
        """Close, then take and return everything still queued."""
        self.close()
        return self.drain_nowait()

    def statistics(self) -> MailboxStatistics:
        """Return a :class:`MailboxStatistics` snapshot."""
        return MailboxStatistics(
            depth=len(self._items),
            capacity=self._capacity,
            sent=self._sent,
            dropped=self._dropped,
            policy=self._policy.value,
        )

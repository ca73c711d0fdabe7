"""Mailbox: overflow policies at capacity, closing, cancellation, statistics."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from actors import Mailbox, MailboxClosed, MailboxFull, MailboxStatistics, OverflowPolicy


def filled(capacity: int, policy: OverflowPolicy, count: int) -> Mailbox[int]:
    box: Mailbox[int] = Mailbox(capacity, policy)
    for i in range(count):
        box.put_nowait(i)
    return box


@pytest.mark.parametrize("capacity", [0, -1])
def test_mailbox_rejects_capacity_below_one(capacity: int) -> None:
    with pytest.raises(ValueError):
        Mailbox[int](capacity)


@pytest.mark.parametrize("capacity", [1, 3])
def test_mailbox_drop_oldest_keeps_newest_n(capacity: int) -> None:
    dropped: list[int] = []
    box: Mailbox[int] = Mailbox(capacity, OverflowPolicy.DROP_OLDEST, on_drop=dropped.append)
    for i in range(capacity + 2):
        box.put_nowait(i)
    assert box.drain_nowait() == list(range(2, capacity + 2))
    assert dropped == [0, 1]
    assert box.statistics().dropped == 2
    assert box.statistics().sent == capacity + 2


@pytest.mark.parametrize("capacity", [1, 3])
async def test_mailbox_drop_newest_keeps_first_n(capacity: int) -> None:
    dropped: list[int] = []
    box: Mailbox[int] = Mailbox(capacity, OverflowPolicy.DROP_NEWEST, on_drop=dropped.append)
    for i in range(capacity):
        await box.put(i)
    await box.put(100)
    box.put_nowait(101)
    assert box.drain_nowait() == list(range(capacity))
    assert dropped == [100, 101]
    stats = box.statistics()
    assert (stats.sent, stats.dropped) == (capacity, 2)


@pytest.mark.parametrize("capacity", [1, 3])
async def test_mailbox_fail_raises_when_full_and_accepts_up_to_capacity(capacity: int) -> None:
    box = filled(capacity, OverflowPolicy.FAIL, capacity)
    with pytest.raises(MailboxFull):
        box.put_nowait(99)
    with pytest.raises(MailboxFull):
        await box.put(99)
    assert box.drain_nowait() == list(range(capacity))
    assert box.statistics().dropped == 0


@pytest.mark.parametrize("capacity", [1, 3])
def test_mailbox_block_put_nowait_raises_full_at_capacity(capacity: int) -> None:
    box = filled(capacity, OverflowPolicy.BLOCK, capacity)
    with pytest.raises(MailboxFull):
        box.put_nowait(99)
    assert len(box) == capacity


@pytest.mark.parametrize("capacity", [1, 3])
async def test_mailbox_block_put_waits_for_room(capacity: int) -> None:
    box = filled(capacity, OverflowPolicy.BLOCK, capacity)
    done = trio.Event()

    async def putter() -> None:
        await box.put(99)
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(putter)
        await trio.testing.wait_all_tasks_blocked()
        assert not done.is_set()
        assert box.get_nowait() == 0
        await trio.testing.wait_all_tasks_blocked()
        assert done.is_set()
    assert box.drain_nowait() == [*range(1, capacity), 99]


async def test_mailbox_get_waits_for_put() -> None:
    box: Mailbox[str] = Mailbox(2)
    got: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _get_into(box, got))
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        box.put_nowait("x")
        await trio.testing.wait_all_tasks_blocked()
        assert got == ["x"]


async def _get_into(box: Mailbox[str], out: list[str]) -> None:
    out.append(await box.get())


def test_mailbox_get_nowait_raises_would_block_when_empty() -> None:
    with pytest.raises(trio.WouldBlock):
        Mailbox[int](1).get_nowait()


async def test_mailbox_put_after_close_raises_closed() -> None:
    box: Mailbox[int] = Mailbox(2)
    box.close()
    with pytest.raises(MailboxClosed):
        box.put_nowait(1)
    with pytest.raises(MailboxClosed):
        await box.put(1)


async def test_mailbox_get_after_close_drains_then_raises_closed() -> None:
    box = filled(3, OverflowPolicy.BLOCK, 2)
    box.close()
    assert await box.get() == 0
    assert box.get_nowait() == 1
    with pytest.raises(MailboxClosed):
        await box.get()
    with pytest.raises(MailboxClosed):
        box.get_nowait()


async def test_mailbox_close_wakes_blocked_getter_and_putter() -> None:
    empty: Mailbox[int] = Mailbox(1)
    full = filled(1, OverflowPolicy.BLOCK, 1)
    errors: list[str] = []

    async def get() -> None:
        with pytest.raises(MailboxClosed):
            await empty.get()
        errors.append("get")

    async def put() -> None:
        with pytest.raises(MailboxClosed):
            await full.put(2)
        errors.append("put")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(get)
        nursery.start_soon(put)
        await trio.testing.wait_all_tasks_blocked()
        empty.close()
        full.close()
        await trio.testing.wait_all_tasks_blocked()
        assert sorted(errors) == ["get", "put"]
    assert full.drain_nowait() == [0]


async def test_mailbox_cancelled_put_does_not_enqueue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    box = filled(1, OverflowPolicy.BLOCK, 1)
    with trio.move_on_after(0.1):
        await box.put(2)
    assert box.drain_nowait() == [0]
    assert box.statistics().sent == 1


async def test_mailbox_cancelled_get_takes_nothing() -> None:
    box: Mailbox[int] = Mailbox(1)
    with trio.CancelScope() as scope:
        scope.cancel()
        await box.get()
    box.put_nowait(1)
    with trio.CancelScope() as scope:
        scope.cancel()
        await box.get()
    assert box.drain_nowait() == [1]


async def test_mailbox_many_blocked_putters_all_get_through_in_order() -> None:
    box: Mailbox[int] = Mailbox(1)
    received: list[int] = []
    async with trio.open_nursery() as nursery:
        for i in range(5):
            nursery.start_soon(box.put, i)
            await trio.testing.wait_all_tasks_blocked()
        for _ in range(5):
            received.append(box.get_nowait())  # raises WouldBlock if no putter got through
            await trio.testing.wait_all_tasks_blocked()
    assert received == [0, 1, 2, 3, 4]


def test_mailbox_statistics_reports_depth_capacity_policy() -> None:
    box = filled(4, OverflowPolicy.DROP_OLDEST, 6)
    box.get_nowait()
    assert box.statistics() == MailboxStatistics(
        depth=3, capacity=4, sent=6, dropped=2, policy="drop_oldest"
    )

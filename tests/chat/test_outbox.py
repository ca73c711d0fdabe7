"""A viewer's outbox: bounded, never blocks the room, closes a slow viewer."""

import trio
import trio.testing

from safestream.chat.outbox import CloseRequest, Outbox
from safestream.chat.protocol import CloseCode


async def test_outbox_delivers_in_order_in_batches() -> None:
    box = Outbox(capacity=5)
    for i in range(3):
        assert box.offer(str(i))
    assert await box.next_batch(limit=2) == ["0", "1"]
    assert await box.next_batch() == ["2"]


async def test_outbox_full_at_capacity_requests_too_slow_close() -> None:
    box = Outbox(capacity=2)
    assert box.offer("a") and box.offer("b")
    assert not box.offer("c")
    request = box.close_request
    assert request is not None and request.code == CloseCode.TOO_SLOW
    assert box.statistics().depth == 2
    assert not box.offer("d")


async def test_close_flushes_queued_frames_first() -> None:
    box = Outbox(capacity=4)
    box.offer("a")
    box.close(CloseCode.KICKED, "kicked")
    assert await box.next_batch() == ["a"]
    assert await box.next_batch() == []
    assert box.close_request == CloseRequest(CloseCode.KICKED, "kicked")


async def test_first_close_reason_wins() -> None:
    box = Outbox(capacity=1)
    box.close(CloseCode.BANNED, "banned")
    box.close(CloseCode.GOING_AWAY, "bye")
    assert box.close_request == CloseRequest(CloseCode.BANNED, "banned")


async def test_writer_waits_until_a_frame_is_offered() -> None:
    box = Outbox(capacity=1)
    got: list[list[str]] = []

    async def writer() -> None:
        got.append(await box.next_batch())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        box.offer("x")
        await trio.testing.wait_all_tasks_blocked()
        assert got == [["x"]]

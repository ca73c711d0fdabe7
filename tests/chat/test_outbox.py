"""A viewer's outbox: bounded, never blocks the room, closes a slow viewer."""

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from safestream.chat.outbox import WRITE_PENDING, CloseRequest, Outbox
from safestream.chat.protocol import CloseCode
from safestream.chat.transport import SendNow, TransportClosed


async def test_outbox_delivers_in_order_in_batches() -> None:
    box = Outbox(capacity=5)
    for i in range(3):
        assert box.offer(b"%d" % i)
    assert await box.next_batch(limit=2) == [b"0", b"1"]
    assert await box.next_batch() == [b"2"]


async def test_outbox_full_at_capacity_requests_too_slow_close() -> None:
    box = Outbox(capacity=2)
    assert box.offer(b"a") and box.offer(b"b")
    assert not box.offer(b"c")
    request = box.close_request
    assert request is not None and request.code == CloseCode.TOO_SLOW
    assert box.statistics().depth == 2
    assert not box.offer(b"d")


async def test_close_flushes_queued_frames_first() -> None:
    box = Outbox(capacity=4)
    box.offer(b"a")
    box.close(CloseCode.KICKED, "kicked")
    assert await box.next_batch() == [b"a"]
    assert await box.next_batch() == []
    assert box.close_request == CloseRequest(CloseCode.KICKED, "kicked")


async def test_first_close_reason_wins() -> None:
    box = Outbox(capacity=1)
    box.close(CloseCode.BANNED, "banned")
    box.close(CloseCode.GOING_AWAY, "bye")
    assert box.close_request == CloseRequest(CloseCode.BANNED, "banned")


async def test_writer_waits_until_a_frame_is_offered() -> None:
    box = Outbox(capacity=1)
    got: list[list[bytes]] = []

    async def writer() -> None:
        got.append(await box.next_batch())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        box.offer(b"x")
        await trio.testing.wait_all_tasks_blocked()
        assert got == [[b"x"]]


async def test_a_full_outbox_of_a_reading_viewer_keeps_frames_up_to_the_limit() -> None:
    # The socket takes bytes (the server is the one behind): no close until the limit.
    box = Outbox(capacity=2, limit=4, stalled=lambda: False)
    assert all(box.offer(b"%d" % i) for i in range(4))
    assert box.close_request is None
    assert not box.offer(b"4")
    request = box.close_request
    assert request is not None and request.code == CloseCode.TOO_SLOW
    assert await box.next_batch() == [b"0", b"1", b"2", b"3"]


async def test_a_full_outbox_of_a_stalled_viewer_closes_at_capacity() -> None:
    stalled = False
    box = Outbox(capacity=2, limit=4, stalled=lambda: stalled)
    assert box.offer(b"a") and box.offer(b"b")
    stalled = True
    assert not box.offer(b"c")
    request = box.close_request
    assert request is not None and request.code == CloseCode.TOO_SLOW


async def test_optional_frames_are_shed_from_half_capacity_and_counted() -> None:
    box = Outbox(capacity=4, stalled=lambda: False)
    assert box.offer(b"presence", optional=True)  # depth 0
    assert box.offer(b"chat")  # depth 1
    assert not box.offer(b"presence", optional=True)  # depth 2 = half: shed
    assert box.offer(b"chat")  # the chat is still queued
    stats = box.statistics()
    assert (stats.depth, stats.shed, stats.closed) == (3, 1, False)


async def test_pending_secs_counts_from_the_first_unsent_frame_until_the_writer_empties_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stalled = False
    box = Outbox(capacity=8, stalled=lambda: stalled)
    assert box.pending_secs(trio.current_time()) == 0.0
    start = trio.current_time()
    box.offer(b"a")
    await trio.sleep(0.5)
    box.offer(b"b")  # a later frame does not restart the clock
    await trio.sleep(0.25)
    assert box.pending_secs(trio.current_time()) == pytest.approx(0.75)
    stalled = True  # the viewer's own socket is full: not the server's backlog
    assert box.pending_secs(trio.current_time()) == 0.0
    stalled = False
    assert await box.next_batch(limit=1) == [b"a"]  # not empty yet: still pending
    assert box.pending_secs(trio.current_time()) == trio.current_time() - start
    assert await box.next_batch() == [b"b"]
    assert box.pending_secs(trio.current_time()) == 0.0


class Socket:
    """`write_now` stand-in: takes frames while `room`, keeps them when full, is busy."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.answer = SendNow.WRITTEN

    def send_now(self, frames: Sequence[bytes]) -> SendNow:
        if self.answer is SendNow.WRITTEN:
            self.written.extend(frames)
        return self.answer


async def test_a_frame_offered_to_an_empty_outbox_is_written_at_once_by_the_offerer() -> None:
    socket = Socket()
    box = Outbox(capacity=4, stalled=lambda: False, write_now=socket.send_now)
    assert box.offer(b"a") and box.offer(b"b")
    assert socket.written == [b"a", b"b"]
    stats = box.statistics()
    assert (stats.depth, stats.offered) == (0, 2)


async def test_what_the_socket_kept_is_marked_for_the_writer_and_later_frames_wait() -> None:
    socket = Socket()
    box = Outbox(capacity=4, stalled=lambda: False, write_now=socket.send_now)
    socket.answer = SendNow.KEPT
    assert box.offer(b"a")  # the transport holds (the rest of) it
    socket.answer = SendNow.WRITTEN
    assert box.offer(b"b")  # not written ahead of a
    assert socket.written == []
    assert await box.next_batch() == [WRITE_PENDING, b"b"]


async def test_a_busy_transport_takes_nothing_and_the_frame_is_queued() -> None:
    socket = Socket()
    box = Outbox(capacity=4, stalled=lambda: False, write_now=socket.send_now)
    socket.answer = SendNow.BUSY
    assert box.offer(b"a")
    assert await box.next_batch() == [b"a"]


async def test_a_peer_gone_during_a_direct_write_closes_the_outbox() -> None:
    def gone(frames: Sequence[bytes]) -> SendNow:
        raise TransportClosed(1006)

    box = Outbox(capacity=4, write_now=gone)
    assert not box.offer(b"a")
    assert box.close_request is not None and box.close_request.code == CloseCode.NORMAL


async def test_an_offer_of_several_frames_counts_each_toward_capacity_and_shedding() -> None:
    box = Outbox(capacity=6)  # stalled by default: a full outbox closes
    assert box.offer(b"abc", frames=3)
    assert box.statistics().depth == 3 and box.sheds_optional()  # 3 = capacity // 2
    assert box.offer(b"def", frames=3)  # 6: at capacity, not past it
    assert not box.offer(b"g")  # 7 would be past it
    assert box.close_request is not None and box.close_request.code == CloseCode.TOO_SLOW
    assert await box.next_batch() == [b"abc", b"def"]
    assert box.statistics().depth == 0


async def test_a_direct_write_the_full_socket_kept_with_more_than_capacity_frames_closes() -> None:
    full = False

    def short_write(frames: Sequence[bytes]) -> SendNow:
        nonlocal full
        full = True  # the write found the socket's buffer full
        return SendNow.KEPT

    box = Outbox(capacity=4, limit=16, stalled=lambda: full, write_now=short_write)
    assert box.offer(b"three", frames=3)  # within capacity: kept for the writer
    assert box.close_request is None
    assert await box.next_batch() == [WRITE_PENDING]
    full = False  # it drained
    assert box.offer(b"many", frames=5)  # more than an outbox's worth, and now full again
    request = box.close_request
    assert request is not None and request.code == CloseCode.TOO_SLOW
    assert await box.next_batch() == [WRITE_PENDING]  # flushed before the close
    assert await box.next_batch() == []

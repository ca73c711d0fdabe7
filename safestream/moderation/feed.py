"""ModeratorFeed: the actor that streams live moderation events to moderators.

Rooms, admin routes and the explainer (`why`: the driving words of a held or blocked
message, found after it was decided) `tell_nowait` it a `FeedEvent` (its mailbox drops
the oldest event when full, so it never slows a room); it fans each event out to every
subscriber's bounded queue and adds a `metrics` event every second. A subscriber that
falls behind by a whole queue is dropped (its stream ends; the dashboard reconnects).

Others publish through a `FeedNotifier` (the feed's registry address plus a counter of
events lost while the feed restarts); the feed is given a zero-argument function that
returns the current `/metrics` document.

Example:
    events = await feed_ref.ask(Subscribe(), timeout=5)      # a trio receive channel
    async for event in events: ...                            # FeedEvent(kind, data)
    FeedNotifier(system.address("feed"), metrics).notify("action", {"action": "mute"})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from actors import Actor, ActorError, Address, OverflowPolicy
from safestream.metrics import Metrics

__all__ = ["FEED_KINDS", "FeedEvent", "FeedNotifier", "ModeratorFeed", "Subscribe"]

FEED_KINDS = ("message", "held", "action", "metrics", "why")
SUBSCRIBER_QUEUE = 256
MAX_SUBSCRIBERS = 64
METRICS_INTERVAL_SECS = 1.0


@dataclass(frozen=True)
class FeedEvent:
    kind: str
    data: dict[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in FEED_KINDS:
            raise ValueError(f"unknown feed event kind {self.kind!r}")


@dataclass(frozen=True)
class Subscribe:
    """Ask: a new bounded receive channel of FeedEvents."""


class ModeratorFeed(Actor):
    kind = "moderator_feed"
    mailbox_capacity = 1024
    overflow = OverflowPolicy.DROP_OLDEST

    def __init__(self, metrics_document: Callable[[], dict[str, Any]]) -> None:
        self._metrics_document = metrics_document
        self._subscribers: list[trio.MemorySendChannel[FeedEvent]] = []
        self._published = 0
        self._dropped_subscribers = 0

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._metrics_ticker)
            await super().run()
            nursery.cancel_scope.cancel()

    async def on_stop(self) -> None:
        for channel in self._subscribers:
            channel.close()
        self._subscribers.clear()

    async def handle(self, message: Any) -> Any:
        if isinstance(message, FeedEvent):
            self._publish(message)
            return None
        if isinstance(message, Subscribe):
            if len(self._subscribers) >= MAX_SUBSCRIBERS:
                return None  # the route answers 503
            send, receive = trio.open_memory_channel[FeedEvent](SUBSCRIBER_QUEUE)
            self._subscribers.append(send)
            return receive
        return await super().handle(message)

    def _publish(self, event: FeedEvent) -> None:
        self._published += 1
        keep = []
        for channel in self._subscribers:
            try:
                channel.send_nowait(event)
            except trio.WouldBlock:
                self._dropped_subscribers += 1
                channel.close()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                channel.close()
            else:
                keep.append(channel)
        self._subscribers = keep

    async def _metrics_ticker(self) -> None:
        while True:
            await trio.sleep(METRICS_INTERVAL_SECS)
            if self._subscribers:
                self._publish(FeedEvent("metrics", self._metrics_document()))

    def introspect(self) -> dict[str, Any]:
        return {
            "subscribers": len(self._subscribers),
            "published": self._published,
            "dropped_subscribers": self._dropped_subscribers,
        }


class FeedNotifier:
    """Best-effort publishing to the feed: never blocks or raises.

    The feed drops its oldest events when full; while it restarts, events are lost and
    counted as `refused["feed_unavailable"]` (the feed is a live view, the database keeps
    the record).
    """

    def __init__(self, feed: Address, metrics: Metrics) -> None:
        self._feed = feed
        self._metrics = metrics

    def notify(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self._feed.tell_nowait(FeedEvent(kind, data))
        except ActorError:
            self._metrics.refused["feed_unavailable"] += 1

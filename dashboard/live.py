"""The live feed: one background thread per dashboard session, running Trio, that keeps
the session up to date by push.

The thread's nursery holds three loops, each reconnecting with backoff on its own:

- the supervision tree from `GET /api/actors/stream` (SSE, one `snapshot` per change);
- moderator events from `GET /api/admin/events` (SSE: `message`, `held`, `action`,
  `why`, `metrics`). Where the app does not have that endpoint (404), the loop polls
  `/api/admin/messages` and `/api/admin/held` instead, and where those are missing too,
  each room's `/api/rooms/<room>/history`, so the table still fills;
- `/metrics` every `metrics_interval` seconds (and the top gifters and rooms less often),
  which the charts need as a time series anyway.

Everything it learns goes to `sink(kind, data)`, called from the feed thread; the Panel
side hands it to the Bokeh document with `add_next_tick_callback` (see `dashboard.app`).
Kinds: "tree", "metrics" ((time, metrics)), "gifts", "rooms", "messages" (a list),
"message", "held" (the hold queue, a list; fetched again after each held or action
event), "held_event", "action", "why" (a message's driving words, found after it was
decided), "status" (text), "auth" (the token was
refused: the session must log in again; the feed then stops).

Example:
    feed = LiveFeed("http://127.0.0.1:8000", token, sink=print)
    feed.start()
    ...
    feed.stop()      # cancels the nursery and joins the thread
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import trio

from dashboard.client import ApiClient, ApiError

__all__ = ["LiveFeed", "Sink"]

Sink = Callable[[str, Any], None]

MAX_BACKOFF_SECS = 5.0
AUTH_STATUSES = (401, 403)


class AuthRefused(Exception):
    """The app refused the token; the feed stops."""


class LiveFeed:
    """Push updates for one session from a Trio nursery in a background thread."""

    def __init__(
        self,
        base_url: str,
        token: str,
        sink: Sink,
        *,
        metrics_interval: float = 1.0,
        tree_interval_ms: int = 500,
        poll_interval: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.token = token
        self.sink = sink
        self.metrics_interval = metrics_interval
        self.tree_interval_ms = tree_interval_ms
        self.poll_interval = poll_interval
        self._transport = transport
        self._lock = threading.Lock()
        self._stopping = False
        self._trio_token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the feed thread (once)."""
        if self._thread is not None:
            raise RuntimeError("the feed was already started")
        self._thread = threading.Thread(
            target=trio.run, args=(self._main,), name="dashboard-live-feed", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel every loop and wait up to `timeout` seconds for the thread to end."""
        with self._lock:
            self._stopping = True
            trio_token, cancel = self._trio_token, self._cancel
        if trio_token is not None and cancel is not None:
            try:
                trio.from_thread.run_sync(cancel.cancel, trio_token=trio_token)
            except trio.RunFinishedError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def _main(self) -> None:
        with trio.CancelScope() as cancel:
            with self._lock:
                if self._stopping:
                    return
                self._trio_token = trio.lowlevel.current_trio_token()
                self._cancel = cancel
            async with ApiClient(self.base_url, self.token, transport=self._transport) as api:
                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._forever, "tree", self._tree, api)
                        nursery.start_soon(self._forever, "events", self._events, api)
                        nursery.start_soon(self._forever, "metrics", self._metrics, api)
                except* AuthRefused as group:
                    self.sink("auth", str(group.exceptions[0]))

    async def _forever(
        self, name: str, loop: Callable[[ApiClient], Awaitable[None]], api: ApiClient
    ) -> None:
        """Run `loop` again whenever it ends or the app cannot be reached, with backoff."""
        backoff = 0.5
        while True:
            try:
                await loop(api)
                backoff = 0.5
            except ApiError as exc:
                if exc.status in AUTH_STATUSES:
                    raise AuthRefused(exc.detail) from exc
                self.sink("status", f"{name}: {exc.detail}")
                backoff = min(MAX_BACKOFF_SECS, backoff * 2)
            except (ValueError, KeyError, TypeError) as exc:
                # A malformed answer (or a bug drawing it) must not end the session's live
                # view: show it and try again, as for an unreachable app.
                self.sink("status", f"{name}: {type(exc).__name__}: {exc}")
                backoff = min(MAX_BACKOFF_SECS, backoff * 2)
            await trio.sleep(backoff)

    async def _tree(self, api: ApiClient) -> None:
        async for event in api.stream(f"/api/actors/stream?interval_ms={self.tree_interval_ms}"):
            if event.event == "snapshot":
                self.sink("tree", event.json())

    async def _events(self, api: ApiClient) -> None:
        async def starting_state() -> None:
            # Loaded only once subscribed, so no message falls between the two.
            self.sink("messages", await api.messages(limit=200))
            self.sink("held", await api.held())

        try:
            async for event in api.stream("/api/admin/events", on_open=starting_state):
                # The app's own `metrics` events are not used: /metrics is sampled anyway.
                if event.event in ("message", "why"):
                    self.sink(event.event, event.json())
                elif event.event in ("held", "action"):
                    self.sink(
                        event.event if event.event == "action" else "held_event", event.json()
                    )
                    self.sink("held", await api.held())
        except ApiError as exc:
            if exc.status != 404:
                raise
            await self._poll(api)

    async def _poll(self, api: ApiClient) -> None:
        """Without the events endpoint: poll the admin API, or room history without it."""
        has_admin = True
        while True:
            if has_admin:
                try:
                    self.sink("messages", await api.messages(limit=200))
                    self.sink("held", await api.held())
                except ApiError as exc:
                    if exc.status != 404:
                        raise
                    has_admin = False
            if not has_admin:
                for room in await api.rooms():
                    self.sink("messages", await api.history(str(room["name"]), limit=200))
            await trio.sleep(self.poll_interval)

    async def _metrics(self, api: ApiClient) -> None:
        tick = 0
        while True:
            self.sink("metrics", (time.time(), await api.metrics()))
            if tick % 5 == 0:
                self.sink("rooms", await api.rooms())
                self.sink("gifts", await api.top_gifts(10))
            tick += 1
            await trio.sleep(self.metrics_interval)

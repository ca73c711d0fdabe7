"""One dashboard session: the login form, then the live moderator views.

`create_app(base_url)` builds a fresh template per browser session (Panel calls it for
each one). The token from the login form lives only in this session object on the
server; it never goes to a cookie, the URL or the page. After login a `LiveFeed` thread
pushes tree snapshots, moderator events and metrics samples; `Pump` hands them to the
Bokeh document with `add_next_tick_callback`, batched, and `Dashboard.apply` updates the
views, which Panel sends to the browser over the session's websocket.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import panel as pn
from bokeh.document import Document
from panel.io.state import set_curdoc

from dashboard.charts import ACCENT, Charts
from dashboard.client import ApiClient, ApiError
from dashboard.frames import (
    MetricsHistory,
    gifters_frame,
    merge_messages,
    messages_frame,
    overload,
    score_distribution,
    with_why,
)
from dashboard.live import LiveFeed
from dashboard.model_view import ModelView
from dashboard.policy_view import PolicyView
from dashboard.tree_view import TreeView
from dashboard.views import ActionsView, AuditView, HeldView, MessagesView

__all__ = ["Dashboard", "Pump", "create_app"]

PUMP_SIZE = 5000
MESSAGE_LIMIT = 500


class Pump:
    """Hands items from any thread to one Bokeh document, batched, in arrival order.

    `put` is thread-safe and never blocks: items wait in a bounded deque (the oldest are
    dropped when the session cannot keep up) and at most one next-tick callback is pending.
    """

    def __init__(self, doc: Document, apply: Callable[[list[tuple[str, Any]]], None]) -> None:
        self.doc = doc
        self.apply = apply
        self._items: deque[tuple[str, Any]] = deque(maxlen=PUMP_SIZE)
        self._lock = threading.Lock()
        self._scheduled = False

    def put(self, kind: str, data: Any) -> None:
        with self._lock:
            self._items.append((kind, data))
            if self._scheduled:
                return
            self._scheduled = True
        with set_curdoc(self.doc):
            pn.state.execute(self._drain, schedule=True)

    def _drain(self) -> None:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._scheduled = False
        self.apply(items)


class Dashboard:
    """The state and widgets of one browser session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token: str | None = None
        self.username = ""
        self.feed: LiveFeed | None = None
        self.history = MetricsHistory()
        self.messages = messages_frame([])
        self.user_in = pn.widgets.TextInput(name="Username", placeholder="username", width=260)
        self.password_in = pn.widgets.PasswordInput(
            name="Password", placeholder="password", width=260
        )
        self.login_button = pn.widgets.Button(name="Log in", button_type="primary", width=260)
        self.login_button.on_click(self.login)
        self.login_error = pn.pane.Alert("", alert_type="danger", visible=False, width=260)
        self.login_form = pn.Column(
            "## Moderator login", self.user_in, self.password_in, self.login_button,
            self.login_error, name="login", css_classes=["login-form"],
        )  # fmt: skip
        # Everything is built before the first render and only shown after login: Panel
        # rewrites its stylesheet URLs to this server on first render, while components
        # added later would point at its CDN (unreachable on an offline install).
        self.console = self._build()
        self.console.visible = False
        self.template = pn.template.BootstrapTemplate(
            title="SafeStream moderation",
            theme="dark",
            header_background=ACCENT,
            main=[pn.Column(self.login_form, self.console, sizing_mode="stretch_width")],
        )
        pn.state.on_session_destroyed(self._destroyed)

    # session ----------------------------------------------------------------------------

    def api(self) -> ApiClient:
        return ApiClient(self.base_url, self.token)

    def say(self, ok: bool, text: str) -> None:
        notifications = pn.state.notifications
        if notifications is not None:
            (notifications.success if ok else notifications.error)(text, duration=4000)
        self.status.value = text

    async def login(self, _event: object = None) -> None:
        self.login_error.visible = False
        async with ApiClient(self.base_url) as api:
            try:
                login = await api.login(
                    (self.user_in.value or "").strip(), self.password_in.value or ""
                )
            except ApiError as exc:
                self._refuse(exc.detail if exc.status else "the SafeStream app is unreachable")
                return
        if not login.is_moderator:
            self._refuse(f"{login.username} is a {login.role}; moderators only")
            return
        self.password_in.value = ""
        self.token, self.username = login.access_token, login.username
        self.logout_button.name = f"Log out {login.username}"
        self.tree.set_admin(login.role == "admin")  # fault injection is for admins only
        self.model_view.set_admin(login.role == "admin")  # retrain / rollback likewise
        self.login_form.visible, self.console.visible = False, True
        doc = pn.state.curdoc
        assert doc is not None, "login runs in a session"
        self.feed = LiveFeed(self.base_url, login.access_token, Pump(doc, self.apply).put)
        self.feed.start()
        pn.state.execute(self.policy.load)
        pn.state.execute(self.audit.reload)
        pn.state.execute(self.model_view.refresh)

    def _refuse(self, text: str) -> None:
        self.login_error.object = text
        self.login_error.visible = True

    def logout(self, _event: object = None) -> None:
        if self.feed is not None:
            self.feed.stop(timeout=2.0)
            self.feed = None
        self.token = None
        self.tree.set_admin(False)
        self.model_view.set_admin(False)
        self.login_form.visible, self.console.visible = True, False

    def _destroyed(self, _context: object) -> None:
        if self.feed is not None:
            self.feed.stop(timeout=2.0)

    # views ------------------------------------------------------------------------------

    def _build(self) -> pn.Column:
        card = {"font_size": "28pt", "title_size": "11pt", "width": 190, "default_color": "#eee"}
        self.cards = {
            "viewers": pn.indicators.Number(name="Viewers", value=0, **card),
            "gifts": pn.indicators.Number(name="Gifts", value=0, **card),
            "toxic": pn.indicators.Number(
                name="Toxic", value=0.0, format="{value:.1f} %",
                colors=[(5, "#2ecc71"), (20, "#f39c12"), (100, ACCENT)], **card,
            ),
            "rate": pn.indicators.Number(
                name="Messages/s", value=0.0, format="{value:.1f}", **card
            ),
            "latency": pn.indicators.Number(
                name="Moderation latency", value=0.0, format="{value:.1f} ms", **card
            ),
            "held": pn.indicators.Number(name="Held", value=0, **card),
            "busy": pn.indicators.Number(
                name="Refused busy/s", value=0.0, format="{value:.1f}",
                colors=[(0.05, "#2ecc71"), (1e9, ACCENT)], **card,
            ),
        }  # fmt: skip
        # What the chat turned away lately (refused as busy, viewers cut, updates shed):
        # plain text (`Str` escapes), shown only while there is something to say.
        self.overload = pn.pane.Str(
            "", visible=False, css_classes=["overload"], styles={"color": ACCENT}
        )
        self.status = pn.widgets.StaticText(name="Feed", value="connecting…")
        self.model = pn.widgets.StaticText(name="Model", value="")
        self.charts = Charts()
        self.tree = TreeView(self.api, self.say)
        self.table = MessagesView(self.api, self.say)
        self.held = HeldView(self.api, self.say)
        self.actions = ActionsView(self.api, self.say)
        self.policy = PolicyView(self.api, self.say)
        self.model_view = ModelView(self.api, self.say)
        self.audit = AuditView(self.api, self.say)
        self.logout_button = pn.widgets.Button(name="Log out", width=180, align="end")
        self.logout_button.on_click(self.logout)
        overview = pn.Column(
            self.overload, pn.FlexBox(*self.cards.values()), self.charts.layout,
            name="Overview",
            sizing_mode="stretch_width",
        )  # fmt: skip
        self.tabs = pn.Tabs(
            overview, self.table.layout, self.held.layout, self.actions.layout,
            self.policy.layout, self.audit.layout, self.model_view.layout, self.tree.layout,
            sizing_mode="stretch_width", dynamic=False,
        )  # fmt: skip
        header = pn.Row(self.status, self.model, pn.HSpacer(), self.logout_button)
        return pn.Column(header, self.tabs, sizing_mode="stretch_width")

    def apply(self, items: list[tuple[str, Any]]) -> None:
        """Apply a batch of feed items (on the document's tick, lock held)."""
        new: list[dict[str, Any]] = []
        snapshot = None
        for kind, data in items:
            if kind == "tree":
                snapshot = data  # only the newest snapshot of a batch is drawn
            elif kind == "metrics":
                self._metrics(*data)
            elif kind == "messages":
                new.extend(data)
            elif kind in ("message", "held_event"):
                new.append(data)
                self._shadow_seen(data)
            elif kind == "why":
                self.messages = with_why(self.messages, str(data.get("id")), data.get("why") or {})
                self.table.explained(str(data.get("id")), dict(data.get("why") or {}))
            elif kind == "held":
                self.held.set_held(data)
                self.cards["held"].value = len(data)
            elif kind == "rooms":
                names = [str(r["name"]) for r in data]
                self.table.set_rooms(names)
                self.policy.set_rooms(names)
            elif kind == "gifts":
                self.charts.update_gifters(gifters_frame(data))
            elif kind == "action":
                pn.state.execute(self.audit.reload)
            elif kind == "status":
                self.status.value = str(data)
            elif kind == "auth":
                self.logout()
                self._refuse(f"session ended: {data}; log in again")
                return
        if snapshot is not None:
            self.tree.update(snapshot)
        if new:
            self.messages = merge_messages(self.messages, messages_frame(new), MESSAGE_LIMIT)
            self.table.set_data(self.messages)
            self.charts.update_distribution(score_distribution(self.messages))

    def _shadow_seen(self, message: dict[str, Any]) -> None:
        """A message the room's shadow policy decided: the policy tab's shadow panel follows."""
        if message.get("shadow") and message.get("room") == self.policy.room.value:
            self.policy.whatif.shadow_seen()

    def _metrics(self, t: float, metrics: dict[str, Any]) -> None:
        self.history.add(t, metrics)
        self.cards["viewers"].value = int(metrics.get("viewer_count") or 0)
        self.cards["gifts"].value = int(metrics.get("gift_count") or 0)
        self.cards["toxic"].value = float(metrics.get("toxic_pct") or 0.0)
        moderation = metrics.get("moderation") or {}
        self.cards["latency"].value = float(moderation.get("mean_latency_ms") or 0.0)
        self.cards["rate"].value = self.history.latest_rate()
        turned_away = overload(self.history)
        self.cards["busy"].value = turned_away.refused_per_sec
        self.overload.object = turned_away.text()
        self.overload.visible = bool(self.overload.object)
        self.model.value = str(moderation.get("model", ""))
        self.status.value = f"live · {time.strftime('%H:%M:%S', time.localtime(t))}"
        self.charts.update_series(self.history.frame(window_secs=30.0))


def create_app(base_url: str) -> pn.template.BootstrapTemplate:
    """A new dashboard for the current Panel session."""
    return Dashboard(base_url).template

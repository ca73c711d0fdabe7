"""Moderation views: the messages table with filters, the hold queue, user actions, audit.

Each view gets `api`, a factory of short-lived `ApiClient`s carrying the session's token,
and `say(ok, text)` to show the outcome. Button callbacks are async, so a slow app never
blocks Panel's event loop. User text only ever reaches the browser as Tabulator cell
values (escaped by Tabulator's plaintext formatter), never as HTML.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd
import panel as pn

from dashboard.client import ApiClient, ApiError
from dashboard.frames import (
    MESSAGE_COLUMNS,
    audit_frame,
    filter_messages,
    messages_frame,
    with_why,
)
from dashboard.why_view import WhyPane

__all__ = ["ActionsView", "AuditView", "HeldView", "MessagesView"]

ApiFactory = Callable[[], ApiClient]
Say = Callable[[bool, str], None]
ACTION_CHOICES = ["", "allow", "mask", "hold", "timeout", "block"]
TABLE = {"show_index": False, "sizing_mode": "stretch_width", "disabled": True}
PLAIN = {"type": "plaintext"}


async def call(say: Say, what: str, action: Callable[[], Awaitable[Any]]) -> Any:
    """Run one API call, report success or the app's error detail; None on failure."""
    try:
        result = await action()
    except ApiError as exc:
        say(False, f"{what} failed: {exc.detail}")
        return None
    say(True, what)
    return result


class MessagesView:
    """Recent messages (pushed by the feed), filtered locally, with actions on a row and
    why the selected one was decided so."""

    def __init__(self, api: ApiFactory, say: Say) -> None:
        self.api, self.say = api, say
        self.data = messages_frame([])
        self.user = pn.widgets.TextInput(name="User", placeholder="any", width=160)
        self.room = pn.widgets.Select(name="Room", options=[""], width=140)
        self.action = pn.widgets.Select(name="Action", options=ACTION_CHOICES, width=120)
        self.toxic_only = pn.widgets.Checkbox(name="Toxic only", align="end")
        self.table = pn.widgets.Tabulator(
            self.data[MESSAGE_COLUMNS],
            selectable=1,
            page_size=20,
            pagination="local",
            formatters={c: PLAIN for c in ("message", "user", "room", "action", "status", "rule")},
            css_classes=["messages-table"],
            **TABLE,
        )
        self.why = WhyPane(api, say, self.explained)
        self.table.param.watch(lambda _e: self._show_why(), "selection")
        self.reason = pn.widgets.TextInput(name="Reason", placeholder="optional", width=200)
        self.duration = pn.widgets.IntInput(name="Duration (s)", value=600, start=1, width=120)
        buttons = {
            "Delete message": self._delete,
            "Mute author": self._sanction("mute"),
            "Kick author": self._sanction("kick"),
            "Ban author": self._sanction("ban"),
        }
        self.buttons = []
        for label, handler in buttons.items():
            button = pn.widgets.Button(name=label, button_type="danger", align="end", width=130)
            button.on_click(handler)
            self.buttons.append(button)
        for widget in (self.user, self.room, self.action, self.toxic_only):
            widget.param.watch(lambda _e: self.refresh(), "value")
        self.layout = pn.Column(
            pn.Row(self.user, self.room, self.action, self.toxic_only),
            self.table,
            pn.Row(self.reason, self.duration, *self.buttons),
            self.why.layout,
            name="Messages",
            sizing_mode="stretch_width",
        )

    def set_data(self, df: pd.DataFrame) -> None:
        self.data = df
        self.refresh()

    def explained(self, message_id: str, why: dict[str, Any]) -> None:
        """A message's explanation changed (explain, or a live `why` event)."""
        self.data = with_why(self.data, message_id, why)
        self.why.update(message_id, why)
        self.refresh()

    def _show_why(self) -> None:
        chosen = self.table.selected_dataframe
        if chosen.empty:
            return
        rows = self.data[self.data["id"] == chosen["id"].iloc[0]]
        if rows.empty:
            return
        row = rows.iloc[0]
        self.why.show(str(row["id"]), str(row["original"] or row["message"]), row["why"])

    def set_rooms(self, rooms: list[str]) -> None:
        options = ["", *sorted({*rooms, *(str(r) for r in self.data["room"].dropna())})]
        if options != self.room.options:
            self.room.options = options

    def refresh(self) -> None:
        """Show the filtered data, keeping the selected message selected as rows move."""
        chosen = self.table.selected_dataframe
        chosen_id = chosen["id"].iloc[0] if len(chosen) else None
        shown = filter_messages(
            self.data,
            user=(self.user.value or "").strip(),
            room=self.room.value or "",
            toxic_only=self.toxic_only.value,
            action=self.action.value or "",
        )
        self.table.value = shown[MESSAGE_COLUMNS]
        if chosen_id is not None:
            again = shown.index[shown["id"] == chosen_id].tolist()
            self.table.selection = again[:1]

    def selected(self) -> dict[str, Any] | None:
        rows = self.table.selected_dataframe
        if rows.empty:
            self.say(False, "select a message first")
            return None
        return dict(rows.iloc[0])

    async def _delete(self, _event: object) -> None:
        row = self.selected()
        if row is not None:
            reason = self.reason.value or None
            async with self.api() as api:
                await call(self.say, f"deleted message {row['id']}",
                           lambda: api.delete_message(row["id"], reason))  # fmt: skip

    def _sanction(self, kind: str) -> Callable[[object], Awaitable[None]]:
        async def handler(_event: object) -> None:
            row = self.selected()
            if row is None:
                return
            fields: dict[str, Any] = {"reason": self.reason.value or None}
            if kind in ("mute", "ban"):
                fields["duration_secs"] = self.duration.value
            if kind == "mute":
                # The app stores a "toxic" label for the model when the muted message was
                # one the model let through (a time-out says the model was wrong).
                fields["message_id"] = str(row["id"])
            async with self.api() as api:
                await call(self.say, f"{kind}: {row['user']}",
                           lambda: api.sanction(kind, str(row["user"]), **fields))  # fmt: skip

        return handler


class HeldView:
    """The hold queue: approve (deliver) or reject each held message."""

    def __init__(self, api: ApiFactory, say: Say) -> None:
        self.api, self.say = api, say
        self.table = pn.widgets.Tabulator(
            messages_frame([])[MESSAGE_COLUMNS],
            buttons={"approve": "Approve", "reject": "Reject"},
            formatters={c: PLAIN for c in ("message", "user", "room", "action", "status", "rule")},
            height=400,
            **TABLE,
        )
        self.table.on_click(self._clicked)  # type: ignore[arg-type]  # async is supported
        self.count = pn.widgets.StaticText(name="Held", value="0")
        self.layout = pn.Column(self.count, self.table, name="Hold queue")

    def set_held(self, held: list[dict[str, Any]]) -> None:
        df = messages_frame(held)[MESSAGE_COLUMNS]
        self.table.value = df
        self.count.value = str(len(df))

    async def _clicked(self, event: Any) -> None:
        if event.column not in ("approve", "reject"):
            return
        message_id = self.table.value.iloc[event.row]["id"]
        async with self.api() as api:
            if await call(self.say, f"{event.column}d message {message_id}",
                          lambda: api.review(message_id, event.column)) is not None:  # fmt: skip
                self.set_held(await api.held())


class ActionsView:
    """Act on a user by name: kick, mute, unmute, ban, unban; reset the metrics."""

    def __init__(self, api: ApiFactory, say: Say) -> None:
        self.api, self.say = api, say
        self.username = pn.widgets.TextInput(name="Username", width=200)
        self.reason = pn.widgets.TextInput(name="Reason", placeholder="optional", width=260)
        self.duration = pn.widgets.IntInput(name="Duration (s, mute/ban)", value=600, start=0)
        row = []
        for kind in ("kick", "mute", "unmute", "ban", "unban"):
            button = pn.widgets.Button(name=kind.capitalize(), button_type="danger", width=90)
            button.on_click(self._sanction(kind))
            row.append(button)
        reset = pn.widgets.Button(name="Reset metrics", button_type="warning", width=140)
        reset.on_click(self._reset)
        self.layout = pn.Column(
            pn.Row(self.username, self.reason, self.duration),
            pn.Row(*row),
            pn.pane.Markdown("**Metrics**"),
            reset,
            name="Users",
        )

    def _sanction(self, kind: str) -> Callable[[object], Awaitable[None]]:
        async def handler(_event: object) -> None:
            user = (self.username.value or "").strip()
            if not user:
                self.say(False, "give a username")
                return
            fields: dict[str, Any] = {}
            if kind in ("kick", "mute", "ban"):
                fields["reason"] = self.reason.value or None
            if kind in ("mute", "ban") and self.duration.value:
                fields["duration_secs"] = self.duration.value
            async with self.api() as api:
                await call(self.say, f"{kind}: {user}", lambda: api.sanction(kind, user, **fields))

        return handler

    async def _reset(self, _event: object) -> None:
        async with self.api() as api:
            await call(self.say, "metrics reset", api.reset_metrics)


class AuditView:
    """The audit log: every moderator action, newest first, filterable by actor/target."""

    def __init__(self, api: ApiFactory, say: Say) -> None:
        self.api, self.say = api, say
        self.actor = pn.widgets.TextInput(name="Actor", width=160)
        self.target = pn.widgets.TextInput(name="Target", width=160)
        refresh = pn.widgets.Button(name="Refresh", align="end")
        refresh.on_click(self.reload)
        self.table = pn.widgets.Tabulator(
            audit_frame([]),
            page_size=25,
            pagination="local",
            formatters={c: PLAIN for c in ("actor", "action", "target", "room", "reason")},
            **TABLE,
        )
        self.layout = pn.Column(pn.Row(self.actor, self.target, refresh), self.table, name="Audit")

    async def reload(self, _event: object = None) -> None:
        async with self.api() as api:
            try:
                actions = await api.audit(
                    actor=(self.actor.value or "").strip() or None,
                    target=(self.target.value or "").strip() or None,
                )
            except ApiError as exc:
                self.say(False, f"audit log: {exc.detail}")
                return
        self.table.value = audit_frame(actions)

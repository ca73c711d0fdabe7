"""What-if panels under the policy editor: preview the edited policy on the last hour,
run it in shadow, promote or drop the shadow, and roll the room back to any version.

"Preview on the last hour" replays the editor's unsaved values on the room's stored
messages (`POST .../replay`, nothing is changed) and draws actions before/after as
paired bars, with the messages that would change below. "Run in shadow" attaches the
same values as the room's shadow policy; the shadow panel shows its agreement with the
active policy and the disagreements, refreshed when the live feed brings a message the
shadow decided (and on "Refresh"). Promote makes it the next policy version; a rollback
saves the selected version again as the next one. Every change is audited by the app.

Example:
    view = WhatIfView(api, say, room=lambda: "main", edited=editor.edited, show=editor.show)
    await view.preview()
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Range1d
from bokeh.plotting import figure

from dashboard.charts import ACCENT, SECOND
from dashboard.client import ApiClient, ApiError
from dashboard.whatif import (
    ACTIONS,
    CHANGE_COLUMNS,
    DISAGREEMENT_COLUMNS,
    VERSION_COLUMNS,
    disagreements_frame,
    replay_changes,
    replay_counts,
    replay_summary,
    shadow_summary,
    versions_frame,
)

__all__ = ["ReplayChart", "WhatIfView"]

PREVIEW_SECS = 3600
SUMMARY_STYLE = ":host { font-size: 1.2em; font-weight: 600; }"
Json = dict[str, Any]
PLAIN = {"type": "plaintext"}
TABLE = {"show_index": False, "sizing_mode": "stretch_width", "disabled": True}


class ReplayChart:
    """Messages per action, before (grey-blue) and after (accent), side by side."""

    def __init__(self) -> None:
        factors = [(action, when) for action in ACTIONS for when in ("before", "after")]
        colours = [SECOND if when == "before" else ACCENT for _action, when in factors]
        self.source = ColumnDataSource(
            {"x": factors, "count": [0] * len(factors), "colour": colours}
        )
        self.y_range = Range1d(start=0, end=1)
        self.figure = figure(
            title="Actions over the last hour: as it happened vs. with the edited policy",
            x_range=FactorRange(factors=factors),
            y_range=self.y_range,
            height=260,
            sizing_mode="stretch_width",
            toolbar_location=None,
        )
        self.figure.vbar(x="x", top="count", width=0.85, color="colour", source=self.source)
        self.figure.add_tools(HoverTool(tooltips=[("", "@x"), ("messages", "@count")]))
        self.figure.grid.grid_line_alpha = 0.15
        self.pane = pn.pane.Bokeh(self.figure, sizing_mode="stretch_width")

    def update(self, counts: pd.DataFrame) -> None:
        by_action = {row["action"]: row for row in counts.to_dict("records")}
        values = [int(by_action[a][w]) for a in ACTIONS for w in ("before", "after")]
        self.source.patch({"count": list(enumerate(values))})
        self.y_range.end = max(1, *values) * 1.1


def _table(columns: list[str], **options: Any) -> pn.widgets.Tabulator:
    return pn.widgets.Tabulator(
        pd.DataFrame(columns=columns),
        formatters={c: PLAIN for c in columns},
        **{**TABLE, **options},
    )


class WhatIfView:
    """The policy editor's preview, shadow and history panels for one room at a time."""

    def __init__(
        self,
        api: Callable[[], ApiClient],
        say: Callable[[bool, str], None],
        *,
        room: Callable[[], str],
        edited: Callable[[], Json],
        show: Callable[[Json], None],
    ) -> None:
        self.api, self.say, self.room, self.edited, self.show = api, say, room, edited, show
        self._refreshing = False
        self.preview_button = pn.widgets.Button(
            name="Preview on the last hour", button_type="primary", width=220
        )
        self.preview_button.on_click(self.preview)
        self.shadow_button = pn.widgets.Button(name="Run in shadow", width=160)
        self.shadow_button.on_click(self.run_in_shadow)
        self.summary = pn.pane.HTML(
            "Edit the policy above, then preview what it would have changed.",
            css_classes=["replay-summary"],
            stylesheets=[SUMMARY_STYLE],
            sizing_mode="stretch_width",
        )
        self.chart = ReplayChart()
        self.changes = _table(
            CHANGE_COLUMNS,
            height=240,
            pagination="local",
            page_size=8,
            css_classes=["replay-changes"],
        )
        self.shadow_status = pn.pane.HTML(
            "No shadow policy on this room.",
            css_classes=["shadow-status"],
            stylesheets=[SUMMARY_STYLE],
            sizing_mode="stretch_width",
        )
        self.disagreements = _table(
            DISAGREEMENT_COLUMNS, height=220, css_classes=["shadow-disagreements"]
        )
        self.promote_button = pn.widgets.Button(
            name="Promote shadow", button_type="success", disabled=True, width=160
        )
        self.promote_button.on_click(self.promote)
        self.drop_button = pn.widgets.Button(
            name="Drop shadow", button_type="danger", disabled=True, width=140
        )
        self.drop_button.on_click(self.drop)
        refresh = pn.widgets.Button(name="Refresh shadow", width=140)
        refresh.on_click(self.refresh_shadow)
        self.versions = _table(
            VERSION_COLUMNS, height=200, selectable=1, css_classes=["policy-history"]
        )
        self.rollback_button = pn.widgets.Button(
            name="Roll back to selected", button_type="warning", width=200
        )
        self.rollback_button.on_click(self.rollback)
        self.layout = pn.Column(
            pn.Row(self.preview_button, self.shadow_button),
            pn.pane.Markdown("### Preview on the last hour"),
            self.summary,
            self.chart.pane,
            self.changes,
            pn.pane.Markdown("### Shadow policy"),
            self.shadow_status,
            self.disagreements,
            pn.Row(self.promote_button, self.drop_button, refresh),
            pn.pane.Markdown("### Policy history"),
            self.versions,
            self.rollback_button,
            sizing_mode="stretch_width",
        )

    async def _call(self, what: str, action: Callable[[ApiClient], Any]) -> Any:
        async with self.api() as api:
            try:
                return await action(api)
            except ApiError as exc:
                self.say(False, f"{what}: {exc.detail}")
                return None

    def _candidate(self) -> Json | None:
        try:
            policy = self.edited()
        except (ValueError, TypeError) as exc:
            self.say(False, f"policy not valid: {exc}")
            return None
        return {k: v for k, v in policy.items() if k != "version"}

    async def preview(self, _event: object = None) -> None:
        """Replay the editor's values on the last hour; draw before/after."""
        policy, room = self._candidate(), self.room()
        if policy is None:
            return
        body = {"policy": policy, "since_secs": PREVIEW_SECS}
        result = await self._call("preview", lambda api: api.replay(room, body, limit=200))
        if result is None:
            return
        self.summary.object = replay_summary(result)
        self.changes.value = replay_changes(result)
        # A Bokeh model (not a Panel widget) changes only under the document's lock: on
        # the next tick, as the live charts do.
        pn.state.execute(partial(self.chart.update, replay_counts(result)), schedule=True)
        self.say(True, f"preview: {result['changed']} of {result['scanned']} messages change")

    async def run_in_shadow(self, _event: object = None) -> None:
        policy, room = self._candidate(), self.room()
        if policy is None:
            return
        status = await self._call("shadow", lambda api: api.attach_shadow(room, policy))
        if status is not None:
            self._show_shadow(status)
            self.say(True, f"shadow #{status['id']} is deciding {room}'s messages too")

    async def refresh_shadow(self, _event: object = None) -> None:
        room = self.room()
        status = await self._call("shadow", lambda api: api.shadow(room))
        if status is not None and status.get("room") == self.room():
            self._show_shadow(status)

    def shadow_seen(self) -> None:
        """A live message the shadow decided: refresh the panel (at most one pending)."""
        if self._refreshing:
            return
        self._refreshing = True

        async def refresh() -> None:
            try:
                await self.refresh_shadow()
            finally:
                self._refreshing = False

        pn.state.execute(refresh)

    def _show_shadow(self, status: Json) -> None:
        self.shadow_status.object = shadow_summary(status)
        self.disagreements.value = disagreements_frame(status)
        attached = bool(status.get("attached"))
        self.promote_button.disabled = self.drop_button.disabled = not attached

    async def promote(self, _event: object = None) -> None:
        room = self.room()
        ended = await self._call("promote", lambda api: api.end_shadow(room, "promote"))
        if ended is not None:
            self.say(True, f"policy v{ended['version']} applied to {room} (promoted shadow)")
            await self.after_change(room)

    async def drop(self, _event: object = None) -> None:
        room = self.room()
        if await self._call("drop", lambda api: api.end_shadow(room, "drop")) is not None:
            self.say(True, f"shadow dropped from {room}")
            await self.refresh_shadow()

    async def rollback(self, _event: object = None) -> None:
        rows = self.versions.selected_dataframe
        if rows.empty:
            self.say(False, "select a version first")
            return
        version, room = int(rows.iloc[0]["version"]), self.room()
        reason = "rolled back from the dashboard"
        saved = await self._call("rollback", lambda api: api.rollback(room, version, reason))
        if saved is not None:
            self.say(True, f"policy v{saved['version']} applied to {room} (rollback to v{version})")
            await self.after_change(room)

    async def after_change(self, room: str) -> None:
        """The active policy changed: the editor, the history and the shadow follow."""
        policy = await self._call("policy", lambda api: api.policy(room))
        if policy is not None:
            self.show(policy)
        await self.reload()

    async def reload(self, _event: object = None) -> None:
        """The room's history and shadow (after a load, a save or a room change)."""
        room = self.room()
        versions = await self._call("history", lambda api: api.policy_versions(room))
        if versions is not None:
            self.versions.value = versions_frame(versions)
        await self.refresh_shadow()

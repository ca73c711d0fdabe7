"""The live supervision tree: a Bokeh drawing, a detail table and a change log.

Each actor is a row at y = -index, x = depth, joined to its supervisor by an elbow line.
Its dot has the status colour (green running, orange restarting, pink failed, ...); beside
the name are the status, the restart count and a mailbox bar (depth / capacity), then the
last error. All text is drawn on the canvas or in Tabulator cells, never as HTML.
`update(snapshot)` is called with every snapshot the live feed receives.

Admins (`set_admin(True)`) also get fault injection: pick an actor of the current tree,
"Crash (fault injection)", then "Confirm crash" sends `POST /api/admin/actors/crash`; the
next snapshots show its supervisor restarting it (restart count, last error, log lines).
When the app refuses (fault injection off, unknown actor, not an admin) its detail shows.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, Range1d
from bokeh.plotting import figure

from dashboard.client import ApiClient, ApiError
from dashboard.frames import tree_changes, tree_edges, tree_rows

__all__ = ["TreeView"]

ApiFactory = Callable[[], ApiClient]
Say = Callable[[bool, str], None]

ROW_PX = 34
BAR_WIDTH = 2.0
LOG_LINES = 200
TABLE_COLUMNS = [
    "path",
    "kind",
    "status",
    "restarts",
    "mailbox_pct",
    "mailbox_depth",
    "mailbox_capacity",
    "mailbox_dropped",
    "handled",
    "uptime",
    "last_error",
]


class TreeView:
    """Draws one snapshot at a time; keeps a log of what changed between snapshots.

    `api` and `say` (as for the moderation views) are used by the admin-only crash control;
    without `api` it stays hidden.
    """

    def __init__(self, api: ApiFactory | None = None, say: Say | None = None) -> None:
        self.api, self.say = api, say
        self.nodes = ColumnDataSource(_empty_nodes())
        self.edges = ColumnDataSource({"xs": [], "ys": []})
        self.x_range = Range1d(start=-0.4, end=10)
        self.y_range = Range1d(start=-1, end=1)
        self.fig = figure(
            height=200,
            sizing_mode="stretch_width",
            toolbar_location=None,
            x_range=self.x_range,
            y_range=self.y_range,
            title="Supervision tree (live)",
        )
        self.fig.axis.visible = False
        self.fig.grid.visible = False
        self.fig.outline_line_alpha = 0.0
        self.fig.multi_line(xs="xs", ys="ys", source=self.edges, color="#777777", line_width=1.5)
        dots = self.fig.scatter(
            x="x", y="y", source=self.nodes, size=14, color="colour", line_color="white"
        )
        self.fig.text(
            x="label_x", y="y", text="name", source=self.nodes, text_baseline="middle",
            text_font_size="13px", text_color="#eeeeee",
        )  # fmt: skip
        self.fig.text(
            x="status_x", y="y", text="badge", source=self.nodes, text_baseline="middle",
            text_font_size="12px", text_color="colour",
        )  # fmt: skip
        self.fig.rect(
            x="bar_mid", y="y", width=BAR_WIDTH, height=0.45, source=self.nodes,
            fill_color="#333333", line_color="#666666",
        )  # fmt: skip
        self.fig.rect(
            x="fill_mid", y="y", width="fill_width", height=0.45, source=self.nodes,
            fill_color="#ff0050", line_color=None,
        )  # fmt: skip
        self.fig.text(
            x="error_x", y="y", text="last_error", source=self.nodes, text_baseline="middle",
            text_font_size="11px", text_color="#ff6f91",
        )  # fmt: skip
        self.fig.add_tools(
            HoverTool(
                renderers=[dots],
                tooltips=[
                    ("actor", "@path"),
                    ("kind", "@kind"),
                    ("status", "@status"),
                    ("restarts", "@restarts"),
                    ("mailbox", "@mailbox_depth / @mailbox_capacity (@mailbox_policy)"),
                    ("last error", "@last_error"),
                ],
            )
        )
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=TABLE_COLUMNS),
            disabled=True,
            show_index=False,
            sizing_mode="stretch_width",
            height=320,
            formatters={"mailbox_pct": {"type": "progress", "max": 100, "color": "#ff0050"}},
            titles={"mailbox_pct": "mailbox"},
        )
        self.log = pn.widgets.TextAreaInput(
            label="Changes", value="", disabled=True, height=180, sizing_mode="stretch_width",
            css_classes=["tree-log"],
        )  # fmt: skip
        self._lines: deque[str] = deque(maxlen=LOG_LINES)
        self._rows: list[dict[str, Any]] = []
        self.summary = pn.widgets.StaticText(label="Actors", value="waiting for the first snapshot")
        self.crash_controls = self._build_crash_controls()
        self.layout = pn.Column(
            self.summary,
            self.crash_controls,
            pn.pane.Bokeh(self.fig, sizing_mode="stretch_width"),
            self.table,
            self.log,
            sizing_mode="stretch_width",
            name="Supervision tree",
        )

    # fault injection (admins) ----------------------------------------------------------

    def _build_crash_controls(self) -> pn.Column:
        self.actor = pn.widgets.Select(
            label="Actor", options=[], width=320, css_classes=["crash-actor"]
        )
        self.crash_button = pn.widgets.Button(
            label="Crash (fault injection)", color="danger", align="end", width=200,
            disabled=True,
        )  # fmt: skip
        self.crash_button.on_click(self._ask)
        # Paths and the app's answers are shown as plain text (`Str` escapes), never HTML.
        self.confirm_text = pn.pane.Str("", margin=(12, 10, 0, 10))
        self.confirm_button = pn.widgets.Button(
            label="Confirm crash", color="danger", align="end", width=140
        )
        self.confirm_button.on_click(self._confirm)
        self.cancel_button = pn.widgets.Button(label="Cancel", align="end", width=100)
        self.cancel_button.on_click(self._cancel)
        self.confirm_row = pn.Row(
            self.confirm_text, self.confirm_button, self.cancel_button, visible=False
        )
        self.outcome = pn.pane.Str("", visible=False, css_classes=["crash-outcome"])
        self._pending: str | None = None
        return pn.Column(
            pn.pane.Markdown(
                "**Fault injection** (admins): crash an actor and watch its supervisor "
                "restart it below. The app allows it in demo mode or with `FAULT_INJECTION=1`."
            ),
            pn.Row(self.actor, self.crash_button),
            self.confirm_row,
            self.outcome,
            visible=False,
            css_classes=["crash-controls"],
            sizing_mode="stretch_width",
        )

    def set_admin(self, admin: bool) -> None:
        """Show the crash control to admins (and only when there is an API to call)."""
        self.crash_controls.visible = admin and self.api is not None
        if not admin:
            self._cancel()
            self.outcome.visible = False

    def note(self, line: str) -> None:
        """Add one line of our own (a crash request) to the change log."""
        self._lines.appendleft(f"{time.strftime('%H:%M:%S')}  {line}")
        self.log.value = "\n".join(self._lines)

    def _set_choices(self, rows: list[dict[str, Any]]) -> None:
        # Every supervised actor (not the root: nothing above it would restart it).
        choices = [str(r["path"]) for r in rows if r["parent"]]
        if choices != list(self.actor.options):
            chosen = self.actor.value
            self.actor.options = choices
            if chosen in choices:
                self.actor.value = chosen
        self.crash_button.disabled = not choices

    def _ask(self, _event: object = None) -> None:
        path = self.actor.value
        if not path:
            self._tell(False, "select an actor first")
            return
        self._pending = str(path)
        self.confirm_text.object = f"Crash {path}? Its supervisor should restart it."
        self.confirm_row.visible = True

    def _cancel(self, _event: object = None) -> None:
        self._pending = None
        self.confirm_row.visible = False

    async def _confirm(self, _event: object = None) -> None:
        path, self._pending = self._pending, None
        self.confirm_row.visible = False
        if path is None or self.api is None:
            return
        self.crash_button.disabled = True
        try:
            async with self.api() as api:
                await api.crash_actor(path)
        except ApiError as exc:
            self._tell(False, f"crash {path} refused ({exc.status}): {exc.detail}")
            return
        finally:
            self.crash_button.disabled = not self.actor.options
        self.note(f"{path}: crash requested (fault injection)")
        self._tell(True, f"crash sent to {path}; watch its restart below")

    def _tell(self, ok: bool, text: str) -> None:
        self.outcome.object = text
        self.outcome.visible = True
        if self.say is not None:
            self.say(ok, text)

    # drawing ----------------------------------------------------------------------------

    def update(self, snapshot: dict[str, Any]) -> None:
        rows = tree_rows(snapshot)
        if self._rows:
            stamp = time.strftime("%H:%M:%S")
            for line in tree_changes(self._rows, rows):
                self._lines.appendleft(f"{stamp}  {line}")
            self.log.value = "\n".join(self._lines)
        self._rows = rows
        self._set_choices(rows)
        self._draw(rows)
        failing = sum(1 for r in rows if r["status"] != "running")
        restarts = sum(r["restarts"] for r in rows)
        self.summary.value = (
            f"{len(rows)} actors, {failing} not running, {restarts} restarts in total"
        )

    def _draw(self, rows: list[dict[str, Any]]) -> None:
        max_depth = max((r["depth"] for r in rows), default=0)
        # Names are drawn in canvas text: leave ~0.12 x-units per character after them.
        name_end = max((r["depth"] + 0.25 + 0.12 * len(r["name"]) for r in rows), default=2.0)
        status_x = max(max_depth + 1.5, name_end + 0.4)
        bar_left = status_x + 2.6
        data = _empty_nodes()
        for i, r in enumerate(rows):
            data["x"].append(float(r["depth"]))
            data["y"].append(-float(i))
            data["label_x"].append(r["depth"] + 0.25)
            data["status_x"].append(status_x)
            data["badge"].append(f"{r['status']}  \u21bb{r['restarts']}")
            data["bar_mid"].append(bar_left + BAR_WIDTH / 2)
            fill = BAR_WIDTH * r["mailbox_fill"]
            data["fill_mid"].append(bar_left + fill / 2)
            data["fill_width"].append(fill)
            data["error_x"].append(bar_left + BAR_WIDTH + 0.3)
            for key in (
                "name", "path", "kind", "status", "colour", "restarts", "mailbox_depth",
                "mailbox_capacity", "mailbox_policy", "last_error",
            ):  # fmt: skip
                data[key].append(r[key])
        xs, ys = tree_edges(rows)
        self.edges.data = {"xs": xs, "ys": ys}
        self.nodes.data = data
        self.x_range.end = bar_left + BAR_WIDTH + 7
        self.y_range.start = -len(rows) + 0.4
        self.y_range.end = 0.6
        height = 60 + ROW_PX * max(1, len(rows))
        if self.fig.height != height:
            self.fig.height = height
        table = pd.DataFrame(rows)
        table["mailbox_pct"] = (table["mailbox_fill"] * 100).round(1)
        table["uptime"] = table["uptime"].round(1)
        self.table.value = table[TABLE_COLUMNS]


def _empty_nodes() -> dict[str, list[Any]]:
    keys = (
        "x", "y", "label_x", "status_x", "badge", "bar_mid", "fill_mid", "fill_width", "error_x",
        "name", "path", "kind", "status", "colour", "restarts", "mailbox_depth",
        "mailbox_capacity", "mailbox_policy", "last_error",
    )  # fmt: skip
    return {k: [] for k in keys}

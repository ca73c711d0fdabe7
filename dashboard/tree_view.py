"""The live supervision tree: a Bokeh drawing, a detail table and a change log.

Each actor is a row at y = -index, x = depth, joined to its supervisor by an elbow line.
Its dot has the status colour (green running, orange restarting, pink failed, ...); beside
the name are the status, the restart count and a mailbox bar (depth / capacity), then the
last error. All text is drawn on the canvas or in Tabulator cells, never as HTML.
`update(snapshot)` is called with every snapshot the live feed receives.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, Range1d
from bokeh.plotting import figure

from dashboard.frames import tree_changes, tree_edges, tree_rows

__all__ = ["TreeView"]

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
    """Draws one snapshot at a time; keeps a log of what changed between snapshots."""

    def __init__(self) -> None:
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
            name="Changes", value="", disabled=True, height=180, sizing_mode="stretch_width"
        )
        self._lines: deque[str] = deque(maxlen=LOG_LINES)
        self._rows: list[dict[str, Any]] = []
        self.summary = pn.widgets.StaticText(name="Actors", value="waiting for the first snapshot")
        self.layout = pn.Column(
            self.summary,
            pn.pane.Bokeh(self.fig, sizing_mode="stretch_width"),
            self.table,
            self.log,
            sizing_mode="stretch_width",
            name="Supervision tree",
        )

    def update(self, snapshot: dict[str, Any]) -> None:
        rows = tree_rows(snapshot)
        if self._rows:
            stamp = time.strftime("%H:%M:%S")
            for line in tree_changes(self._rows, rows):
                self._lines.appendleft(f"{stamp}  {line}")
            self.log.value = "\n".join(self._lines)
        self._rows = rows
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

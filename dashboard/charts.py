"""The dashboard's charts: plain Bokeh figures in Panel panes, updated in place.

Each chart owns a `ColumnDataSource`; `update_*` replaces its data from a DataFrame built
by `dashboard.frames`, inside the document's next-tick callback, so the browser receives
only the changed columns over the session's websocket (no page reloads).
"""

from __future__ import annotations

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, HoverTool, Range1d
from bokeh.plotting import figure

__all__ = ["ACCENT", "Charts"]

ACCENT = "#ff0050"
SECOND = "#3fa9f5"
HEIGHT = 260


def _figure(title: str, **kwargs: object) -> figure:
    fig = figure(
        title=title,
        height=HEIGHT,
        sizing_mode="stretch_width",
        toolbar_location=None,
        **kwargs,  # type: ignore[arg-type]
    )
    fig.grid.grid_line_alpha = 0.15
    return fig


class Charts:
    """Rolling toxicity %, message volume, per-category score distribution, top gifters."""

    def __init__(self) -> None:
        self.series = ColumnDataSource({"t": [], "toxic_pct": [], "messages_per_sec": []})
        self.toxicity = _figure(
            "Toxic messages, % (rolling 30 s)",
            x_axis_type="datetime",
            y_range=Range1d(start=0, end=100),
        )
        self.toxicity.varea(
            x="t", y1=0, y2="toxic_pct", source=self.series, color=ACCENT, alpha=0.25
        )
        self.toxicity.line(x="t", y="toxic_pct", source=self.series, color=ACCENT, line_width=2)

        self.volume = _figure(
            "Messages per second", x_axis_type="datetime", y_range=DataRange1d(start=0)
        )
        self.volume.vbar(
            x="t", top="messages_per_sec", width=800, source=self.series, color=SECOND, alpha=0.8
        )

        self.dist = ColumnDataSource(
            {"category": [], "min": [], "q1": [], "median": [], "q3": [], "max": [], "count": []}
        )
        self.categories = FactorRange()
        self.distribution = _figure(
            "Score distribution per category",
            x_range=self.categories,
            y_range=Range1d(start=0, end=1.02),
        )
        self.distribution.segment(
            x0="category", y0="min", x1="category", y1="max", source=self.dist, color="#aaaaaa"
        )
        self.distribution.vbar(
            x="category",
            bottom="q1",
            top="q3",
            width=0.6,
            source=self.dist,
            color=ACCENT,
            alpha=0.6,
        )
        self.distribution.scatter(
            x="category", y="median", source=self.dist, size=9, marker="dash", color="white"
        )
        self.distribution.add_tools(
            HoverTool(
                tooltips=[
                    ("category", "@category"),
                    ("messages", "@count"),
                    ("median", "@median{0.000}"),
                    ("q1 to q3", "@q1{0.000} to @q3{0.000}"),
                    ("max", "@max{0.000}"),
                ]
            )
        )
        self.distribution.xaxis.major_label_orientation = 0.6

        self.gift_source = ColumnDataSource({"user": [], "amount": []})
        self.users = FactorRange()
        self.gifters = _figure("Top gifters", y_range=self.users, x_range=DataRange1d(start=0))
        self.gifters.hbar(
            y="user", right="amount", height=0.7, source=self.gift_source, color=ACCENT, alpha=0.85
        )
        self.gifters.add_tools(HoverTool(tooltips=[("user", "@user"), ("amount", "@amount")]))

        pane = {"sizing_mode": "stretch_width"}
        self.layout = pn.GridBox(
            pn.pane.Bokeh(self.toxicity, **pane),
            pn.pane.Bokeh(self.volume, **pane),
            pn.pane.Bokeh(self.distribution, **pane),
            pn.pane.Bokeh(self.gifters, **pane),
            ncols=2,
            sizing_mode="stretch_width",
        )

    def update_series(self, df: pd.DataFrame) -> None:
        """From `MetricsHistory.frame()`: t in seconds since the epoch."""
        self.series.data = {
            "t": (df["t"] * 1000.0).tolist(),
            "toxic_pct": df["toxic_pct"].tolist(),
            "messages_per_sec": df["messages_per_sec"].tolist(),
        }

    def update_distribution(self, df: pd.DataFrame) -> None:
        """From `score_distribution()`."""
        categories = [str(c) for c in df["category"]]
        if list(self.categories.factors) != categories:
            self.categories.factors = categories
        self.dist.data = {
            col: df[col].tolist() if col != "category" else categories
            for col in ("category", "min", "q1", "median", "q3", "max", "count")
        }

    def update_gifters(self, df: pd.DataFrame) -> None:
        """From `gifters_frame()`: biggest at the top."""
        users = [str(u) for u in reversed(df["user"].tolist())]
        if list(self.users.factors) != users:
            self.users.factors = users
        self.gift_source.data = {"user": users, "amount": list(reversed(df["amount"].tolist()))}

"""The message tables keep one column configuration whatever rows they show.

In the browser, Panel answers a change of a Tabulator's `configuration` (or `columns`) by
destroying and rebuilding the table, and a data change that arrives while it builds is
dropped: the page keeps the rows it was built with. So a table the feed updates twice in
quick succession (two held messages ~70 ms apart, the first ones since login) must see
only data changes. No browser: the Bokeh model Panel sends to the page is watched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from bokeh.document import Document

from dashboard.frames import audit_frame, messages_frame
from dashboard.views import HeldView, MessagesView

pytestmark = [
    # Bokeh's ColumnDataSource.from_df (under every Tabulator) still passes inplace= to pandas.
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index"),
    # The views still use `name=` and `button_type=`, which Panel 1.9 deprecates for 2.0.
    pytest.mark.filterwarnings(
        "ignore:.* is deprecated and will be removed in version 2.0:PendingDeprecationWarning"
    ),
]


def held(seq: int, text: str) -> dict[str, Any]:
    """A `held` event as the app's moderators' feed sends it."""
    return {
        "type": "held",
        "id": f"m{seq}",
        "ts": f"2026-01-01T00:00:{seq:02d}+00:00",
        "room": "main",
        "user": "demo_user",
        "message": text,
        "action": "hold",
        "toxic": True,
        "score": 0.7,
        "scores": {"toxicity": 0.7},
        "status": "held",
        "seq": seq,
        "why": {},
    }


def rebuilds(table: Any, updates: list[Callable[[], None]]) -> list[str]:
    """The properties of `table`'s Bokeh model that make the page rebuild the table,
    each time one changed while `updates` ran; and the rows the model ends with."""
    model = table.get_root(Document())
    changed: list[str] = []
    for prop in ("configuration", "columns"):
        model.on_change(prop, lambda attr, _old, _new: changed.append(attr))
    for update in updates:
        update()
    rows = model.source.data["id"].tolist()
    return [*changed, f"rows={rows}"]


def test_hold_queue_first_held_messages_change_only_the_data() -> None:
    view = HeldView(lambda: None, lambda _ok, _text: None)  # type: ignore[arg-type, return-value]
    first, second = held(2, "approve me"), held(3, "reject me")
    assert rebuilds(
        view.table,
        [
            lambda: view.set_held([]),  # the starting state, at login
            lambda: view.set_held([first]),  # after the first held event
            lambda: view.set_held([first, second]),  # ~70 ms later, after the second
        ],
    ) == ["rows=['m2', 'm3']"]


def test_messages_table_first_messages_change_only_the_data() -> None:
    view = MessagesView(lambda: None, lambda _ok, _text: None)  # type: ignore[arg-type, return-value]
    assert rebuilds(
        view.table,
        [
            lambda: view.set_data(messages_frame([])),
            lambda: view.set_data(messages_frame([held(2, "a")])),
            lambda: view.set_data(messages_frame([held(3, "b"), held(2, "a")])),
        ],
    ) == ["rows=['m3', 'm2']"]


def kinds(df: pd.DataFrame) -> dict[str, str]:
    """Each column's dtype kind: what Panel derives a Tabulator column's sorter from."""
    return {str(column): dtype.kind for column, dtype in df.dtypes.items()}


def test_messages_frame_column_kinds_do_not_depend_on_the_rows() -> None:
    empty = kinds(messages_frame([]))
    assert kinds(messages_frame([held(2, "a")])) == empty
    assert kinds(messages_frame([held(2, "a"), {**held(3, "b"), "seq": None}])) == empty
    assert empty["seq"] == "i" and empty["score"] == "f" and empty["toxic"] == "b"


def test_audit_frame_column_kinds_do_not_depend_on_the_rows() -> None:
    row = {"id": 4, "created_at": "2026-12-01T10:00:00Z", "actor": "mod", "action": "mute"}
    empty = kinds(audit_frame([]))
    assert kinds(audit_frame([row])) == empty
    assert kinds(audit_frame([{**row, "duration_secs": 60}])) == empty
    assert empty["id"] == "i" and empty["duration_secs"] == "f"

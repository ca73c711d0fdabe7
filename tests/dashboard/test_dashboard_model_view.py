"""The dashboard's Model tab: admin-only retrain / rollback, status and labels rendering."""

from __future__ import annotations

import pytest

from dashboard.model_view import LABEL_COLUMNS, ModelView, labels_frame, status_text

# Panel's Tabulator calls reset_index(inplace=True), which pandas 3.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")


def test_status_text_shows_versions_state_reason_and_figures() -> None:
    text = status_text(
        {
            "state": "rejected",
            "live_version": "bundled",
            "previous_version": None,
            "reason": "worse on held-out data: chat_f1 0.80 < 0.85",
            "before": {"chat_f1": 0.85},
            "after": {"chat_f1": 0.8},
        }
    )
    assert "`bundled`" in text and "**rejected**" in text
    assert "worse on held-out data" in text and "after: chat_f1 0.8" in text


def test_labels_frame_keeps_the_columns_in_order_even_when_empty() -> None:
    assert list(labels_frame([]).columns) == LABEL_COLUMNS
    frame = labels_frame([{"text": "gg", "toxic": False, "actor": "mod", "extra": 1}])
    assert frame.loc[0, "text"] == "gg" and "extra" not in frame.columns


def test_retrain_and_rollback_are_shown_to_admins_only() -> None:
    view = ModelView(lambda: None, lambda ok, text: None)  # type: ignore[arg-type,return-value]
    view.set_admin(True)
    assert view.admin_controls.visible
    view.set_admin(False)
    assert not view.admin_controls.visible
    without_api = ModelView(None, lambda ok, text: None)
    without_api.set_admin(True)
    assert not without_api.admin_controls.visible

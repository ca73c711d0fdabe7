"""The dashboard's policy editor and hold queue in a real Chromium, against a real app.

The moderator edits the room's hold band in the Policy tab (its score threshold from 0.9
to 0.5) and applies it: the app stores version 3 and the running room uses it at once,
so a line that was delivered a moment ago is now held, and it appears in the Hold queue
tab without a reload. Approving one held line delivers it to a viewer's chat page;
rejecting another removes it from the queue and nobody ever sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browserkit import message, open_user, wait_for_message
from conftest import free_port
from dashkit import DashboardProcess, chat, log_in, running_dashboard
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

# Each step goes through two processes and a push to the page; a busy 2-core machine
# can take longer than Playwright's 5 s default.
STEP_MS = 20_000
START_POLICY = {
    "thresholds": {"toxicity": 0.6},
    "bands": [{"category": "toxicity", "min_score": 0.9, "action": "hold"}],
}
# The keyword model scores each of these 0.7-0.8 for toxicity: under the 0.9 band,
# held once the band starts at 0.5.
BEFORE = "you are an idiot (before the change)"
APPROVED = "you are an idiot (approve me)"
REJECTED = "what a stupid play (reject me)"


@pytest.fixture
def dashboard(app_server: Any, tmp_path: Path) -> Iterator[DashboardProcess]:
    with running_dashboard(app_server.url, free_port(), tmp_path / "dashboard.log") as dash:
        yield dash


def held_rows(page: Page, text: str) -> Any:
    """Rows of the hold queue that contain `text`: the only table with Approve buttons
    (the messages table, on another tab, lists held messages too)."""
    approve = page.get_by_role("gridcell", name="Approve", exact=True)
    return page.locator(".tabulator-row").filter(has=approve).filter(has_text=text)


def button(row: Any, label: str) -> Any:
    """A Tabulator button cell of `row` (Panel renders them without a field name)."""
    return row.get_by_role("gridcell", name=label, exact=True)


def test_policy_editor_applies_a_new_band_and_the_hold_queue_approves_and_rejects(
    app_server: Any, dashboard: DashboardProcess, chromium: Any
) -> None:
    mod = {"Authorization": f"Bearer {app_server.token('test_streamer')}"}
    policy_url = f"{app_server.url}/api/admin/rooms/main/policy"
    response = httpx.put(policy_url, json=START_POLICY, headers=mod)
    assert response.status_code == 200 and response.json()["version"] == 2, response.text
    author = app_server.token("demo_user")
    assert chat(app_server.url, "demo_user", author, BEFORE)["type"] == "chat"

    viewer = open_user(chromium, app_server.url, "chat_viewer")
    # Wide enough for every column of the hold queue (its Approve and Reject buttons come
    # after the rule column): Tabulator does not render cells scrolled out of view.
    page = chromium.new_page(viewport={"width": 2600, "height": 1000})
    try:
        log_in(page, dashboard.url, "test_streamer")
        page.locator(".bk-tab", has_text="Policy").click()
        # Logging in loads room main's policy into the editor (once: another load while
        # editing would redraw the table under the cursor).
        band = page.locator(".tabulator-cell[tabulator-field=min_score]").filter(visible=True)
        expect(band).to_have_text("0.9", timeout=STEP_MS)

        band.click()
        editor = band.locator("input")
        editor.fill("0.5")
        editor.press("Enter")
        expect(band).to_have_text("0.5")
        page.get_by_role("button", name="Apply to room").click()
        expect(page.get_by_text("policy v3 applied to main").first).to_be_visible(timeout=STEP_MS)
        stored = httpx.get(policy_url, headers=mod).json()
        assert stored["version"] == 3
        assert stored["bands"] == [{"category": "toxicity", "min_score": 0.5, "action": "hold"}]

        # The running room decides with version 3 at once: the same kind of line is held.
        for text in (APPROVED, REJECTED):
            held = chat(app_server.url, "demo_user", author, text)
            assert held["type"] == "held" and held["policy_version"] == 3, held

        page.locator(".bk-tab", has_text="Hold queue").click()
        approved_row, rejected_row = held_rows(page, APPROVED), held_rows(page, REJECTED)
        expect(approved_row).to_have_count(1, timeout=STEP_MS)
        expect(rejected_row).to_have_count(1, timeout=STEP_MS)
        expect(message(viewer.page, APPROVED)).to_have_count(0)

        button(approved_row, "Approve").click()
        expect(approved_row).to_have_count(0, timeout=STEP_MS)
        wait_for_message(viewer.page, APPROVED)

        button(rejected_row, "Reject").click()
        expect(rejected_row).to_have_count(0, timeout=STEP_MS)
        held_now = httpx.get(f"{app_server.url}/api/admin/held", headers=mod).json()["held"]
        assert held_now == []
        # A line sent after the rejection reaches the viewer; the rejected one never did.
        assert chat(app_server.url, "demo_user", author, "a kind line")["type"] == "chat"
        wait_for_message(viewer.page, "a kind line")
        expect(message(viewer.page, REJECTED)).to_have_count(0)
        statuses = {
            m["message"]: m["status"]
            for m in httpx.get(
                f"{app_server.url}/api/admin/messages?user=demo_user", headers=mod
            ).json()["messages"]
        }
        assert statuses[APPROVED] == "visible" and statuses[REJECTED] == "rejected"
    finally:
        page.close()
        viewer.close()

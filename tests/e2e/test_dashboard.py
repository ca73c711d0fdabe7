"""The Panel moderator dashboard in a real Chromium against a real app process.

The dashboard runs as its own process (`safestream dashboard`), talks to the app only
over HTTP/SSE, and the moderator logs in through its form. A toxic line sent over the
chat socket appears in the live messages table (pushed, no reload), an HTML line shows
as text, muting its author from the table refuses the author's next line, and the
supervision tree is drawn. The admin then crashes `/safestream/gifts` from the tree tab
(fault injection, on in demo mode) and watches its supervisor restart it: restart count
1, the InjectedCrash error and the change-log line arrive in the same page, no reload.
Screenshots go to docs/img/.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from dashkit import DashboardProcess, chat, running_dashboard, tab
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

# Screenshots refresh docs/img only on request (SAFESTREAM_SCREENSHOTS=1), so an
# ordinary test run never changes the working tree.
IMG = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("SAFESTREAM_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "safestream-screenshots"
)
IMG.mkdir(parents=True, exist_ok=True)

# The dashboard updates by push through two processes; on a busy 2-core machine a step
# can take longer than Playwright's 5 s default.
expect.set_options(timeout=15_000)
TOXIC = "you are an idiot"
HTML_LINE = "<img src=x onerror=alert(1)><b>not bold</b>"


@pytest.fixture
def dashboard(app_server: Any, tmp_path: Path) -> Iterator[DashboardProcess]:
    with running_dashboard(app_server.url, free_port(), tmp_path / "dashboard.log") as dash:
        yield dash


def test_dashboard_shows_live_messages_mutes_from_the_table_and_watches_a_restart(
    app_server: Any, dashboard: DashboardProcess, chromium: Any
) -> None:
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(dashboard.url)
        page.get_by_placeholder("username").fill("chat_viewer")
        page.get_by_placeholder("password").fill("chat_viewer")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("moderators only")).to_be_visible(timeout=15_000)

        page.get_by_placeholder("username").fill("test_streamer")
        page.get_by_placeholder("password").fill("test_streamer")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out test_streamer")).to_be_visible(
            timeout=15_000
        )
        expect(page.get_by_text("live ·")).to_be_visible(timeout=15_000)

        author = app_server.token("demo_user")
        assert chat(app_server.url, "demo_user", author, "hello everyone")["toxic"] is False
        assert chat(app_server.url, "demo_user", author, TOXIC)["toxic"] is True
        assert chat(app_server.url, "demo_user", author, HTML_LINE)["type"] == "chat"

        tab(page, "Messages")
        cell = page.locator(".tabulator-cell", has_text=TOXIC)
        expect(cell).to_be_visible(timeout=15_000)
        expect(page.locator(".tabulator-cell", has_text=HTML_LINE)).to_be_visible(timeout=15_000)
        assert page.locator("img[src='x']").count() == 0
        assert page.locator(".tabulator-cell b").count() == 0

        page.locator("input[type=checkbox]").check()  # the "Toxic only" filter
        expect(page.locator(".tabulator-cell", has_text="hello everyone")).to_be_hidden()
        expect(cell).to_be_visible()
        page.wait_for_timeout(2500)  # let the charts gather a few samples for the picture
        tab(page, "Overview")
        page.screenshot(path=str(IMG / "dashboard.png"))
        tab(page, "Messages")

        cell.click()
        page.get_by_role("button", name="Mute author").click()
        expect(page.get_by_text("mute: demo_user").first).to_be_visible(timeout=10_000)
        page.screenshot(path=str(IMG / "dashboard-messages.png"))
        refused = chat(app_server.url, "demo_user", author, "can I still talk?")
        assert refused == {**refused, "type": "error", "code": "muted"}

        tab(page, "Audit")
        page.get_by_role("button", name="Refresh").click()
        expect(page.locator(".tabulator-cell", has_text="demo_user").first).to_be_visible()

        tab(page, "Supervision tree")
        expect(page.locator(".tabulator-cell", has_text="/safestream/rooms").first).to_be_visible(
            timeout=10_000
        )
        expect(page.get_by_text("0 not running")).to_be_visible()
        expect(page.get_by_text("0 restarts in total")).to_be_visible()

        # Fault injection (test_streamer is an admin): crash the gifts actor from the UI.
        page.evaluate("window.sameDocument = true")  # gone if the page were reloaded
        page.locator(".crash-actor select").select_option("/safestream/gifts")
        page.get_by_role("button", name="Crash (fault injection)").click()
        expect(page.get_by_text("Crash /safestream/gifts? Its supervisor should")).to_be_visible()
        page.get_by_role("button", name="Confirm crash").click()
        expect(page.get_by_text("crash sent to /safestream/gifts").first).to_be_visible(
            timeout=10_000
        )
        gifts = page.locator(".tabulator-row").filter(
            has=page.locator("[tabulator-field=path]", has_text=re.compile(r"^/safestream/gifts$"))
        )
        expect(gifts.locator("[tabulator-field=restarts]")).to_have_text("1", timeout=15_000)
        expect(gifts.locator("[tabulator-field=last_error]")).to_contain_text("InjectedCrash")
        expect(gifts.locator("[tabulator-field=status]")).to_have_text("running")
        log = page.locator(".tree-log textarea")
        expect(log).to_have_value(re.compile(r"/safestream/gifts: restarted \(restarts 1\)"))
        expect(log).to_have_value(re.compile(r"/safestream/gifts: error InjectedCrash: "))
        expect(page.get_by_text("1 restarts in total")).to_be_visible()
        assert page.evaluate("window.sameDocument") is True
        page.set_viewport_size({"width": 1400, "height": 1280})  # tree, table and log
        page.wait_for_timeout(4500)  # let the notification fade for the picture
        page.screenshot(path=str(IMG / "dashboard-tree.png"), full_page=True)
        assert dialogs == []
    finally:
        page.close()

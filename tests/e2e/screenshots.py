"""Regenerate the README/docs screenshots: `docs/img/login.png` and `docs/img/chat.png`.

Starts its own demo server and uses Debian's Chromium with the fake camera, like the
browser tests. Run from the repository root:

    .venv/bin/python tests/e2e/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from browserkit import open_user, send, started_app, wait_for_message
from conftest import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import expect, sync_playwright

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"

CONVERSATION = [
    ("chat_viewer", "hey everyone, just tuned in"),
    ("demo_user", "welcome! we're testing the new browser client"),
    ("chat_viewer", "the camera preview looks great"),
    ("test_streamer", "thanks for coming, gifts are on the right"),
    ("chat_viewer", "this stream is stupid"),
    ("demo_user", "be nice, the model flags that"),
    ("test_streamer", "next: moderation tools demo"),
]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        started_app(Path(tmp)) as app,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        login = browser.new_context(base_url=app.url, viewport={"width": 1280, "height": 760})
        page = login.new_page()
        page.goto("/")
        page.fill("#login-username", "demo_user")
        page.screenshot(path=str(OUT / "login.png"))
        login.close()

        users = {name: open_user(browser, app.url, name) for name in ("demo_user", "chat_viewer")}
        users["test_streamer"] = open_user(browser, app.url, "test_streamer")
        for name, text in CONVERSATION:
            send(users[name].page, text)
            wait_for_message(users["demo_user"].page, text)
        main_page = users["demo_user"].page
        main_page.click("#camera-toggle")
        expect(main_page.locator("#stage")).to_have_attribute("data-camera", "live")
        users["chat_viewer"].page.click(".gift-btn[data-gift-id='5']")
        main_page.wait_for_timeout(600)
        users["test_streamer"].page.click(".gift-btn[data-gift-id='2']")
        expect(main_page.locator("#top-gifters .top-gifter")).to_have_count(2)
        main_page.wait_for_timeout(900)  # mid-flight: the gift cards are on the stage
        main_page.screenshot(path=str(OUT / "chat.png"))
        browser.close()
    print(f"wrote {OUT / 'login.png'} and {OUT / 'chat.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

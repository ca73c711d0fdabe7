"""The stream page's connection paths in a real Chromium: switching rooms, being kicked
and rejoining, and a server that is full (close code 1013).

Each test starts its own server; each user has its own browser context. Waits are on
the page's mirrored state (`<body data-conn data-joins>`) and on chat lines, never on
fixed sleeps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from browserkit import (
    TIMEOUT_MS,
    chat_texts,
    message,
    open_user,
    post_over_socket,
    send,
    started_app,
    wait_connected,
    wait_for_message,
)
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# The page retries a 1013 after 7.5-15 s (ui/js/socket.js); allow for a busy machine.
BUSY_RETRY_MS = 40_000


def test_switching_rooms_shows_each_rooms_history_and_nothing_leaks(
    app_server: Any, chromium: Any
) -> None:
    token = app_server.token("chat_viewer")
    post_over_socket(chromium, app_server.url, "chat_viewer", token, ["music history"], "music")
    ann = open_user(chromium, app_server.url, "demo_user")
    bob = open_user(chromium, app_server.url, "chat_viewer")
    page = ann.page
    try:
        send(bob.page, "main before the switch")
        wait_for_message(page, "main before the switch")

        page.fill("#room-input", "music")
        page.click("#room-join")
        expect(page).to_have_url(re.compile(r"#room=music$"))
        expect(page.locator("#stage-room")).to_have_text("music")
        expect(page.locator("body")).to_have_attribute("data-joins", "1")
        wait_connected(page)
        wait_for_message(page, "music history")
        assert chat_texts(page) == ["music history"]  # main's lines went with the room
        expect(page.locator("#room-select option[value=music]")).to_have_count(1)

        # Lines from each room stay in that room: bob talks in main, ann in music.
        send(bob.page, "main while ann is away")
        send(page, "hello music")
        wait_for_message(page, "hello music")
        wait_for_message(bob.page, "main while ann is away")
        post_over_socket(chromium, app_server.url, "chat_viewer", token, ["music later"], "music")
        wait_for_message(page, "music later")  # delivered after bob's main line was sent
        expect(message(page, "main while ann is away")).to_have_count(0)
        expect(message(bob.page, "hello music")).to_have_count(0)

        # Back to main from the selector: main's history, none of music's lines.
        page.select_option("#room-select", "main")
        expect(page).to_have_url(re.compile(r"#room=main$"))
        wait_connected(page)
        wait_for_message(page, "main while ann is away")
        wait_for_message(page, "main before the switch")
        for text in ("music history", "hello music", "music later"):
            expect(message(page, text)).to_have_count(0)
        send(page, "back in main")
        wait_for_message(bob.page, "back in main")
        assert ann.csp_violations() == [] and bob.csp_violations() == []
    finally:
        ann.close()
        bob.close()


def test_a_kicked_viewer_sees_it_and_rejoin_recovers_what_was_missed(
    app_server: Any, chromium: Any
) -> None:
    viewer = open_user(chromium, app_server.url, "chat_viewer")
    page = viewer.page
    try:
        send(page, "before the kick")
        wait_for_message(page, "before the kick")
        mod = app_server.token("test_streamer")
        response = httpx.post(
            f"{app_server.url}/api/admin/kick",
            json={"username": "chat_viewer", "reason": "cool off"},
            headers={"Authorization": f"Bearer {mod}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["connections"] == 1

        expect(page.locator("body")).to_have_attribute("data-conn", "kicked")
        expect(page.locator("#conn-status")).to_have_text("kicked")
        expect(page.locator("#messages .notice-warn")).to_have_text(
            "You were kicked by a moderator. Reason: cool off"
        )
        expect(page.locator("#message-input")).to_be_disabled()
        expect(page.locator("#message-input")).to_have_attribute("placeholder", "Disconnected")
        rejoin = page.locator("#messages button.rejoin")
        expect(rejoin).to_have_count(1)

        # While the viewer is out, the room goes on; Rejoin resumes with `since`.
        author = app_server.token("demo_user")
        post_over_socket(chromium, app_server.url, "demo_user", author, ["while you were out"])
        expect(message(page, "while you were out")).to_have_count(0)
        rejoin.click()
        wait_connected(page)
        expect(page.locator("body")).to_have_attribute("data-joins", "2")
        expect(page.locator("body")).to_have_attribute("data-recovered", "true")
        wait_for_message(page, "while you were out")
        expect(rejoin).to_have_count(0)
        expect(page.locator("#message-input")).to_be_enabled()
        send(page, "back after the kick")
        wait_for_message(page, "back after the kick")
        texts = chat_texts(page)
        assert texts.count("before the kick") == 1 and texts.count("while you were out") == 1
        assert viewer.csp_violations() == []
    finally:
        viewer.close()


def test_a_full_server_shows_busy_and_the_page_joins_when_a_place_frees(
    chromium: Any, tmp_path: Path
) -> None:
    with started_app(tmp_path, MAX_CONNECTIONS_PER_USER="1") as app:
        first = open_user(chromium, app.url, "demo_user")
        second = None
        try:
            send(first.page, "said from the first tab")
            wait_for_message(first.page, "said from the first tab")
            second = open_user(chromium, app.url, "demo_user", wait_open=False)
            page = second.page
            body = page.locator("body")
            expect(body).to_have_attribute("data-conn", "busy", timeout=TIMEOUT_MS)
            expect(page.locator("#conn-status")).to_have_text("chat full, retrying…")
            expect(page.locator("#messages .notice-warn")).to_contain_text(
                "The chat is full right now (too many connections for this user (limit 1))"
            )
            expect(page.locator("#message-input")).to_be_disabled()
            assert first.page.locator("body").get_attribute("data-conn") == "open"

            first.close()  # frees the user's only place
            first = None
            expect(body).to_have_attribute("data-conn", "open", timeout=BUSY_RETRY_MS)
            expect(body).to_have_attribute("data-joins", "1")
            wait_for_message(page, "said from the first tab")
            expect(page.locator("#message-input")).to_be_enabled()
            send(page, "said from the second tab")
            wait_for_message(page, "said from the second tab")
            assert second.csp_violations() == []
        finally:
            for user in (first, second):
                if user is not None:
                    user.close()

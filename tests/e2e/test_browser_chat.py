"""The stream page in a real Chromium: two users chat, toxic lines are flagged, gifts fly,
user text stays text, the DOM stays bounded, and a server restart loses nothing.

Each test starts its own server (`app_server`) and opens one browser context per user,
so sessionStorage, sockets and cameras are separate as in two real browsers.
"""

from __future__ import annotations

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


def test_two_users_chat_and_a_toxic_message_is_flagged(app_server: Any, chromium: Any) -> None:
    ann = open_user(chromium, app_server.url, "demo_user")
    bob = open_user(chromium, app_server.url, "chat_viewer")
    try:
        send(ann.page, "hello from ann")
        wait_for_message(bob.page, "hello from ann")
        send(bob.page, "hi ann, nice stream")
        wait_for_message(ann.page, "hi ann, nice stream")

        send(bob.page, "you are an idiot")
        for user in (ann, bob):
            line = wait_for_message(user.page, "you are an idiot")
            expect(line).to_have_class("msg toxic" if user is ann else "msg mine toxic")
            expect(line.locator(".badge-toxic")).to_have_text("toxic 80%")
        clean = message(ann.page, "hello from ann")
        expect(clean.locator(".badge-toxic")).to_have_count(0)
        expect(ann.page.locator("#viewer-count")).to_have_text("2")

        # A gift: the animation shows on both pages and the strip ranks the sender.
        bob.page.click(".gift-btn[data-gift-id='4']")
        for user in (ann, bob):
            expect(user.page.locator("#gift-stage .gift-fly")).to_contain_text(
                "chat_viewer sent rocket"
            )
            expect(user.page.locator("#top-gifters .top-user").first).to_have_text("chat_viewer")

        # Both pages ran under the strict CSP without a single violation or script error.
        for user in (ann, bob):
            assert user.csp_violations() == []
            assert [line for line in user.console if line.startswith("pageerror")] == []
    finally:
        ann.close()
        bob.close()


def test_user_text_is_inserted_as_text_never_as_html(app_server: Any, chromium: Any) -> None:
    # CSP is bypassed on purpose: it would block the handler anyway, and this test must
    # prove that rendering alone keeps the payload inert.
    payload = '<img src=x onerror="window.__xss=1">'
    ann = open_user(chromium, app_server.url, "demo_user", bypass_csp=True)
    bob = open_user(chromium, app_server.url, "chat_viewer", bypass_csp=True)
    try:
        send(ann.page, payload)
        for user in (ann, bob):
            line = wait_for_message(user.page, payload)
            expect(line.locator("p.text")).to_have_text(payload)
            assert user.page.locator("#messages img").count() == 0
            user.page.wait_for_timeout(300)  # give a broken image time to fire onerror
            assert user.page.evaluate("typeof window.__xss") == "undefined"
    finally:
        ann.close()
        bob.close()


def test_reconnect_after_server_restart_has_no_duplicates_or_gaps(
    app_server: Any, chromium: Any
) -> None:
    viewer = open_user(chromium, app_server.url, "demo_user")
    page = viewer.page
    try:
        before = [f"before restart {i}" for i in range(3)]
        for text in before:
            send(page, text)
        wait_for_message(page, before[-1])

        app_server.restart()
        # While the page is still backing off, another user talks: these lines are only
        # reachable through the resume (`since`) or live delivery, each exactly once.
        missed = [f"while away {i}" for i in range(3)]
        token = app_server.token("chat_viewer")
        with httpx.Client(base_url=app_server.url) as http:
            assert http.get("/health").status_code == 200
        post_over_socket(page.context.browser, app_server.url, "chat_viewer", token, missed)

        wait_connected(page)
        expect(page.locator("body")).to_have_attribute("data-joins", "2", timeout=TIMEOUT_MS)
        for text in missed:
            wait_for_message(page, text)
        after = [f"after restart {i}" for i in range(3)]
        for text in after:
            send(page, text)
        wait_for_message(page, after[-1])

        texts = chat_texts(page)
        ours = [t for t in texts if t in before + missed + after]
        assert ours == before + missed + after
        ids = page.locator("#messages li.msg").evaluate_all("els => els.map(e => e.dataset.id)")
        assert len(ids) == len(set(ids))
        assert page.locator("body").get_attribute("data-recovered") == "true"
    finally:
        viewer.close()


def test_dom_stays_bounded_in_a_long_session(chromium: Any, tmp_path: Path) -> None:
    env = {"MESSAGES_PER_SECOND": "1000", "MESSAGE_BURST": "1000"}
    with started_app(tmp_path, **env) as app:
        viewer = open_user(chromium, app.url, "demo_user")
        try:
            texts = [f"line {i:03d}" for i in range(250)]
            post_over_socket(chromium, app.url, "chat_viewer", app.token("chat_viewer"), texts)
            wait_for_message(viewer.page, "line 249")
            lines = viewer.page.locator("#messages > li")
            assert lines.count() <= 200
            assert chat_texts(viewer.page)[-1] == "line 249"
            # ... and the chat still works after it (the original stopped after ~24 lines).
            send(viewer.page, "still here")
            wait_for_message(viewer.page, "still here")
            assert viewer.page.locator("#messages > li").count() <= 200
        finally:
            viewer.close()

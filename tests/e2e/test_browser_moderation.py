"""The moderator view in a real Chromium: masked and held lines as their author sees
them, the hold queue (approve), and per-message delete / timeout / ban buttons."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from browserkit import message, open_user, send, wait_for_message
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

POLICY = {
    "thresholds": {"toxicity": 0.6},
    "bands": [{"category": "threat", "min_score": 0.7, "action": "hold"}],
    "blocked_terms": ["darn"],
    "blocked_term_action": "mask",
}


def test_moderator_view_masks_holds_approves_deletes_times_out_and_bans(
    app_server: Any, chromium: Any
) -> None:
    token = app_server.token("test_streamer")
    response = httpx.put(
        f"{app_server.url}/api/admin/rooms/main/policy",
        json=POLICY,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    mod = open_user(chromium, app_server.url, "test_streamer")
    viewer = open_user(chromium, app_server.url, "chat_viewer")
    try:
        expect(mod.page.locator("#mod-panel")).to_be_visible()
        expect(viewer.page.locator("#mod-panel")).to_be_hidden()

        # Masked: everyone, the author included, sees the masked text, marked as such.
        send(viewer.page, "darn it")
        for user in (mod, viewer):
            expect(wait_for_message(user.page, "**** it").locator(".badge-masked")).to_be_visible()

        # Held: only its author sees it (as held), the moderator gets it in the queue.
        send(viewer.page, "watch your back")
        held = wait_for_message(viewer.page, "watch your back")
        expect(held).to_have_class(re.compile(r"\bheld\b"))
        expect(held.locator(".badge-held")).to_have_text("held for review")
        queued = mod.page.locator("#held-list li.held-item", has_text="watch your back")
        expect(queued).to_have_count(1)
        expect(mod.page.locator("#held-count")).to_have_text("1")
        expect(message(mod.page, "watch your back")).to_have_count(0)

        queued.locator(".held-approve").click()
        expect(queued).to_have_count(0)
        wait_for_message(mod.page, "watch your back")
        approved = message(viewer.page, "watch your back")
        expect(approved).not_to_have_class(re.compile(r"\bheld\b"))
        expect(approved.locator(".badge-held")).to_have_count(0)

        # Delete: the line disappears for everyone.
        send(viewer.page, "please delete me")
        line = wait_for_message(mod.page, "please delete me")
        wait_for_message(viewer.page, "please delete me")
        expect(message(viewer.page, "please delete me").locator(".mod-actions")).to_have_count(0)
        line.hover()
        line.locator(".mod-delete").click()
        for user in (mod, viewer):
            expect(message(user.page, "please delete me")).to_have_count(0)

        # Timeout (a 5 minute mute): the room is told, the viewer's input is disabled
        # until the mute ends, and the server refuses what it sends anyway.
        line = message(mod.page, "**** it")
        line.hover()
        line.locator(".mod-timeout").click()
        expect(mod.page.locator("#toasts")).to_contain_text("chat_viewer timed out")
        expect(viewer.page.locator("#message-input")).to_be_disabled()
        expect(viewer.page.locator("#message-input")).to_have_attribute(
            "placeholder", re.compile("timed out until")
        )

        # Ban (two clicks): the viewer's socket is closed with 4003 and it says so.
        line.hover()
        line.locator(".mod-ban").click()
        line.hover()
        line.locator(".mod-ban").click()
        expect(viewer.page.locator("body")).to_have_attribute("data-conn", "banned")
        expect(viewer.page.locator("#messages .notice-error")).to_contain_text("banned")
        assert mod.csp_violations() == [] and viewer.csp_violations() == []
    finally:
        mod.close()
        viewer.close()

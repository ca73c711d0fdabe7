"""The webcam self-view in a real Chromium: frames from the fake camera, start/stop,
and the permission-denied path (a clear message, chat unaffected)."""

from __future__ import annotations

from typing import Any

import pytest
from browserkit import TIMEOUT_MS, open_user, send, wait_for_message
from conftest import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_camera_preview_shows_frames_from_the_fake_device(app_server: Any, chromium: Any) -> None:
    user = open_user(chromium, app_server.url, "demo_user")
    page = user.page
    try:
        stage = page.locator("#stage")
        expect(stage).to_have_attribute("data-camera", "off")
        page.click("#camera-toggle")
        expect(stage).to_have_attribute("data-camera", "live")
        expect(page.locator("#camera-toggle")).to_have_text("Stop camera")

        video = page.locator("#preview")
        assert video.evaluate("v => v.videoWidth") > 0
        first = video.evaluate("v => v.currentTime")
        page.wait_for_timeout(700)
        assert video.evaluate("v => v.currentTime") > first, "the preview is not playing"
        # Mirrored self-view, and the camera list offers the fake device.
        assert video.evaluate("v => getComputedStyle(v).transform").startswith("matrix(-1")
        expect(page.locator("#camera-select option")).not_to_have_count(0)

        page.click("#camera-toggle")
        expect(stage).to_have_attribute("data-camera", "off")
        assert video.evaluate("v => v.srcObject === null")
        assert user.csp_violations() == []
    finally:
        user.close()


def test_camera_permission_denied_shows_a_message_and_chat_still_works(
    app_server: Any, chromium: Any
) -> None:
    # Without --use-fake-ui-for-media-stream headless Chromium denies the camera prompt.
    args = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    denying = chromium.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    try:
        user = open_user(denying, app_server.url, "demo_user")
        page = user.page
        page.click("#camera-toggle")
        expect(page.locator("#stage")).to_have_attribute("data-camera", "error")
        expect(page.locator("#camera-message")).to_contain_text("Camera permission was denied")
        expect(page.locator("#camera-toggle")).to_have_text("Start camera")

        send(page, "no camera but still chatting")
        wait_for_message(page, "no camera but still chatting", timeout=TIMEOUT_MS)
    finally:
        denying.close()


def test_no_camera_shows_a_clear_message(app_server: Any, chromium: Any) -> None:
    user = open_user(chromium, app_server.url, "demo_user")
    page = user.page
    try:
        page.evaluate(
            """() => {
                navigator.mediaDevices.getUserMedia = () =>
                    Promise.reject(new DOMException("none", "NotFoundError"));
            }"""
        )
        page.click("#camera-toggle")
        expect(page.locator("#camera-message")).to_contain_text("No camera found")
    finally:
        user.close()

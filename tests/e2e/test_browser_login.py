"""The login page and the UI routes: register, log in, wrong password, logout, the token
kept out of URLs, security headers, and static paths that cannot leave `ui/`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from browserkit import TIMEOUT_MS, wait_connected
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_register_login_and_logout_keep_the_token_out_of_urls(
    app_server: Any, chromium: Any
) -> None:
    context = chromium.new_context(base_url=app_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    try:
        page.goto("/chat")
        page.wait_for_url(f"{app_server.url}/")  # no session: back to the login page

        page.fill("#login-username", "demo_user")
        page.fill("#login-password", "wrong password")
        page.click("#login-submit")
        expect(page.locator("#form-error")).to_have_text("Incorrect username or password.")

        page.click("#tab-register")
        page.fill("#register-username", "newcomer")
        page.fill("#register-email", "newcomer@example.org")
        page.fill("#register-password", "correct horse battery")
        page.click("#register-submit")
        page.wait_for_url("**/chat")
        wait_connected(page)
        expect(page.locator("#user-name")).to_have_text("newcomer")
        token = page.evaluate("JSON.parse(sessionStorage.getItem('safestream.session')).token")
        assert token
        assert not any(token in url for url in urls), "the token leaked into a URL"
        assert "token" not in page.url

        page.click("#logout")
        page.wait_for_url(f"{app_server.url}/")
        assert page.evaluate("sessionStorage.getItem('safestream.session')") is None
        page.goto("/chat")
        page.wait_for_url(f"{app_server.url}/")
    finally:
        context.close()


def test_pages_carry_a_strict_csp_and_static_paths_stay_inside_ui(app_server: Any) -> None:
    with httpx.Client(base_url=app_server.url) as http:
        for path in ("/", "/chat"):
            response = http.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
            assert "connect-src 'self';" in csp  # sockets only to this origin (CSP 3)
        js = http.get("/ui/js/socket.js")
        assert js.status_code == 200
        assert js.headers["content-type"] == "text/javascript; charset=utf-8"
        assert http.get("/ui/css/chat.css").headers["content-type"].startswith("text/css")
        for bad in (
            "/ui/../pyproject.toml",
            "/ui/%2e%2e/pyproject.toml",
            "/ui/..%2fpyproject.toml",
            "/ui/js/../../safestream/settings.py",
            "/ui/.hidden.js",
            "/ui/js/missing.js",
        ):
            response = http.get(bad)
            assert response.status_code == 404, bad
            assert "SafeStream" not in response.text and "[project]" not in response.text


@pytest.mark.parametrize(
    "path",
    ["../pyproject.toml", "js/../../README.md", "..\\pyproject.toml", ".git/config", "js//app.js",
     "js/app.js\x00.png", "index.py", "/etc/passwd"],
)  # fmt: skip
def test_resolve_ui_path_refuses_anything_outside_ui(path: str) -> None:
    from safestream.web.routes.ui import UI_DIR, resolve_ui_path

    assert resolve_ui_path(UI_DIR, path) is None
    assert resolve_ui_path(UI_DIR, "js/app.js") == UI_DIR / "js" / "app.js"

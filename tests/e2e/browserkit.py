"""Helpers for the browser tests: log a user in, read the chat, start a tuned server.

Pages are driven through Playwright's sync API. Waits use locators (they work under the
page's strict Content-Security-Policy); `wait_for_function` needs `bypass_csp=True`
because Playwright evaluates its predicate with `eval`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import AppProcess, free_port
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

TIMEOUT_MS = 15_000

__all__ = [
    "TIMEOUT_MS",
    "User",
    "chat_texts",
    "message",
    "open_user",
    "post_over_socket",
    "send",
    "started_app",
    "wait_connected",
    "wait_for_message",
]


@dataclass
class User:
    """A logged-in browser user: its own context (own sessionStorage), page and console."""

    name: str
    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line]

    def close(self) -> None:
        self.context.close()


def open_user(
    browser: Browser,
    base_url: str,
    username: str,
    *,
    bypass_csp: bool = False,
    wait_open: bool = True,
    **options: Any,
) -> User:
    """A new browser context logged in as `username` (password = username, demo mode),
    on the chat page with its socket open (unless `wait_open` is False)."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 760}, bypass_csp=bypass_csp, **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    user = User(username, context, page)

    def record(message: ConsoleMessage) -> None:
        user.console.append(f"{message.type}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: user.console.append(f"pageerror: {error}"))
    page.goto("/")
    page.fill("#login-username", username)
    page.fill("#login-password", username)
    page.click("#login-submit")
    page.wait_for_url("**/chat")
    if wait_open:
        wait_connected(page)
    return user


def wait_connected(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-conn", "open", timeout=TIMEOUT_MS)


def send(page: Page, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")
    expect(page.locator("#message-input")).to_have_value("")


def message(page: Page, text: str) -> Any:
    """The locator of the chat line whose text is exactly `text`."""
    exact = re.compile("^" + re.escape(text) + "$")
    return page.locator("#messages li.msg").filter(has=page.locator("p.text", has_text=exact))


def wait_for_message(page: Page, text: str, timeout: float = TIMEOUT_MS) -> Any:
    line = message(page, text)
    expect(line).to_have_count(1, timeout=timeout)
    return line


def chat_texts(page: Page) -> list[str]:
    return page.locator("#messages li.msg .text").all_text_contents()


@contextmanager
def started_app(data_dir: Path, **env: str) -> Iterator[AppProcess]:
    """A server like `app_server`, with extra environment (e.g. higher rate limits)."""
    app = AppProcess(data_dir=data_dir, port=free_port(), extra_env=dict(env))
    app.start()
    try:
        yield app
    finally:
        app.stop()


def post_over_socket(
    browser: Browser, url: str, username: str, token: str, texts: list[str], room: str = "main"
) -> None:
    """Send `texts` as `username` to `room` from a bare WebSocket in a throwaway page,
    waiting until the server echoed the last one back (so all were accepted and
    delivered)."""
    context = browser.new_context(base_url=url)
    try:
        page = context.new_page()
        page.goto("/ui/img/logo.svg")
        sent = page.evaluate(
            """async ([username, token, texts, room]) => {
                const ws = new WebSocket(`ws://${location.host}/ws/${username}?room=${room}`);
                const seen = new Set();
                const errors = [];
                const done = new Promise((resolve, reject) => {
                    ws.onmessage = (e) => {
                        const f = JSON.parse(e.data);
                        if (f.type === "chat" && f.user === username) seen.add(f.message);
                        if (f.type === "error") errors.push(f.code);
                        if (seen.has(texts[texts.length - 1])) resolve();
                    };
                    ws.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
                    setTimeout(() => reject(new Error(`timeout; errors ${errors}`)), 20000);
                });
                await new Promise((resolve) => (ws.onopen = resolve));
                ws.send(JSON.stringify({type: "auth", token}));
                for (const message of texts) ws.send(JSON.stringify({type: "chat", message}));
                await done;
                ws.close(1000);
                return seen.size;
            }""",
            [username, token, texts, room],
        )
        assert sent == len(set(texts))
    finally:
        context.close()

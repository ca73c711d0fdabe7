"""A real SafeStream server on a free port (in this test's Trio run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from serverkit import Server, make_settings

from safestream.app import serve
from safestream.moderation.classifiers import KeywordClassifier


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the server's settings."""
    return {}


@pytest.fixture
async def server(tmp_path: Path, settings_overrides: dict[str, Any]) -> AsyncIterator[Server]:
    settings = make_settings(tmp_path, **settings_overrides)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            partial(
                serve,
                settings,
                bind="127.0.0.1:0",
                classifier=KeywordClassifier(),
                shutdown=shutdown,
                handle_signals=False,
            )
        )
        url = next(u for u in urls if u.startswith("http://127.0.0.1"))
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield Server(url=url, settings=settings, http=http)
        shutdown.set()

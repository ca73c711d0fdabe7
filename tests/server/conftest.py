"""A real SafeStream server on a free port (in this test's Trio run)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from serverkit import Server, ThreadedServer, make_settings, running_server, server_in_thread


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the server's settings."""
    return {}


@pytest.fixture
async def server(tmp_path: Path, settings_overrides: dict[str, Any]) -> AsyncIterator[Server]:
    async with running_server(make_settings(tmp_path, **settings_overrides)) as running:
        yield running


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    """One production-mode node in a thread, shared by the fuzz tests (sync clients)."""
    with server_in_thread(tmp_path_factory.mktemp("fuzz")) as running:
        yield running

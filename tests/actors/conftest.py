"""Fixtures for the actor runtime tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def log() -> list[str]:
    """A shared event log that test actors append to."""
    return []

"""The local services the tests use (PostgreSQL, Redis, NATS): skip without one, but
fail under CI=true, where `tests/services.sh` has started them and nothing may pass by
skipping. Importable from every test folder (`pythonpath` in pyproject.toml)."""

from __future__ import annotations

import os
import socket

import pytest

__all__ = ["SERVICE_PORTS", "require_service"]

SERVICE_PORTS = {"redis": 6379, "nats": 4222, "postgres": 5432}


def require_service(kind: str) -> None:
    """Skip without the local service, but fail under CI=true (it must never skip)."""
    try:
        socket.create_connection(("127.0.0.1", SERVICE_PORTS[kind]), timeout=1).close()
    except OSError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{kind} is not running on 127.0.0.1 (tests/services.sh starts it)")
        pytest.skip(f"{kind} is not running")

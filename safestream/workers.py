"""`safestream serve --workers N`: N node processes on one machine, sharing one port.

Each worker is a whole SafeStream node (its own process, event loop and supervision
tree) bound to the same port with `SO_REUSEPORT`, so the kernel spreads connections over
them and every core works. The workers share rooms like any nodes of a cluster: through
the broker (`BROKER_URL` must be Redis or NATS) and one database. The first worker starts
alone (it migrates the database and creates demo accounts), then the others. SIGINT or
SIGTERM is passed to every worker, each drains as a single node does; the parent exits
when they all have, with the first non-zero exit code.

Example:
    BROKER_URL=redis://127.0.0.1:6379/0 safestream serve --workers 2
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from types import FrameType

from safestream.settings import ConfigError, Settings

__all__ = ["run_workers"]

START_TIMEOUT_SECS = 120.0


def run_workers(settings: Settings, workers: int) -> int:
    """Run `workers` node processes until they exit; returns the exit code."""
    if settings.broker_url.startswith("memory:"):
        raise ConfigError(
            "WORKERS > 1 needs a shared broker: set BROKER_URL to redis://... or nats://..."
        )
    base = settings.node_id or f"{os.uname().nodename}-{os.getpid()}"
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    for index in range(workers):
        env = {
            **os.environ,
            "WORKERS": str(workers),  # binds with SO_REUSEPORT
            "NODE_ID": f"{base}-{index}",
            "APP_HOST": settings.app_host,
            "APP_PORT": str(settings.app_port),
        }
        command = [sys.executable, "-m", "safestream.cli", "serve", "--worker"]
        children.append(subprocess.Popen(command, env=env))
        if index == 0 and not _wait_healthy(settings, children[0]):
            forward(signal.SIGTERM, None)
            return children[0].wait() or 1
    codes = [child.wait() for child in children]
    return next((code for code in codes if code), 0)


def _wait_healthy(settings: Settings, child: subprocess.Popen[bytes]) -> bool:
    url = f"http://{settings.app_host}:{settings.app_port}/health"
    deadline = time.monotonic() + START_TIMEOUT_SECS
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False

"""Serve the dashboard: `run_dashboard(settings)` (what `safestream dashboard` calls).

It listens on `APP_HOST`:`DASH_PORT` and talks to the app at `SAFESTREAM_URL`
(`settings.base_url`). Bokeh's websocket accepts only the dashboard's own origin
(`localhost`, `127.0.0.1` and `APP_HOST` at `DASH_PORT`) plus the hosts of
`ALLOWED_ORIGINS`, for deployments behind a proxy.

Example:
    SAFESTREAM_URL=http://127.0.0.1:8000 DASH_PORT=8501 python -m dashboard
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from urllib.parse import urlsplit

import panel as pn

from safestream.settings import ConfigError, Settings

__all__ = ["main", "run_dashboard", "websocket_origins"]

CSS = """
.login-form { margin: 8vh auto; padding: 24px; border: 1px solid #ff0050; border-radius: 8px; }
"""


def websocket_origins(settings: Settings) -> list[str]:
    """`host:port` values Bokeh accepts as the websocket Origin."""
    port = settings.dash_port
    hosts = {"localhost", "127.0.0.1", settings.app_host}
    origins = {f"{host}:{port}" for host in hosts if host not in ("0.0.0.0", "::")}
    for origin in settings.allowed_origins:
        netloc = urlsplit(origin).netloc or origin
        if netloc:
            origins.add(netloc)
    return sorted(origins)


def _session_factory(base_url: str) -> Callable[[], pn.template.BootstrapTemplate]:
    # A plain function: Panel serves callables it recognises as functions (not partials).
    def session() -> pn.template.BootstrapTemplate:
        from dashboard.app import create_app

        pn.extension("tabulator", notifications=True, raw_css=[CSS])
        return create_app(base_url)

    return session


def run_dashboard(settings: Settings) -> int:
    """Serve until interrupted; returns the process exit status."""
    base_url = settings.base_url.rstrip("/")
    print(
        f"SafeStream dashboard on http://{settings.app_host}:{settings.dash_port} "
        f"(app at {base_url})",
        flush=True,
    )
    pn.serve(
        {"/": _session_factory(base_url)},
        port=settings.dash_port,
        address=settings.app_host,
        show=False,
        websocket_origin=websocket_origins(settings),
        title="SafeStream moderation",
        threaded=False,
    )
    return 0


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"dashboard: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return run_dashboard(settings)
    except KeyboardInterrupt:
        return 130

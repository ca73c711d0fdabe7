"""The browser client: `/` (log in / register), `/chat` (the stream page), `/ui/<path>`.

The client is plain HTML, CSS and JS modules (the repository's `ui/` folder, installed as
the package `safestream.ui`), served as they are (no build step). HTML pages carry a
strict Content-Security-Policy: scripts only from this origin, no inline scripts or
styles, sockets only to this origin. Static paths are checked against `ui/` after
resolving, so `..` or symlinks cannot leave it, and
only known file types are served, each with its content type.

Example:
    app.register_blueprint(ui_blueprint(ctx))
    # GET /chat -> ui/chat.html, GET /ui/js/socket.js -> ui/js/socket.js
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import trio
from quart import Blueprint, Response
from quart_schema import hide

from safestream.web.deps import ApiError, documented

__all__ = ["CONTENT_SECURITY_POLICY", "UI_DIR", "ui_blueprint"]

# The client ships as the package `safestream.ui` (the repository's `ui/` folder); wheels
# install unzipped, so its files are plain paths that the traversal checks can resolve.
UI_DIR = Path(str(resources.files("safestream.ui")))

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",  # CSP 3: 'self' covers ws: and wss: to this host
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}

# Sizes are small; the limit keeps one request from reading a large stray file.
MAX_FILE_BYTES = 2 * 1024 * 1024


def ui_blueprint(ui_dir: Path = UI_DIR) -> Blueprint:
    """The blueprint serving the browser client from `ui_dir`.

    Args:
        ui_dir: the directory holding `index.html`, `chat.html`, `css/` and `js/`.
    """
    bp = Blueprint("ui", __name__)
    root = ui_dir.resolve()

    @bp.get("/")
    @documented("ui", content="text/html")
    async def login_page() -> Response:
        """The log-in / register page"""
        return await _serve(root, "index.html")

    @bp.get("/chat")
    @documented("ui", content="text/html")
    async def chat_page() -> Response:
        """The stream page (chat client)"""
        return await _serve(root, "chat.html")

    @bp.get("/ui/<path:path>")
    @hide  # the client's own files: not part of the API
    async def static_file(path: str) -> Response:
        return await _serve(root, path)

    return bp


def resolve_ui_path(root: Path, path: str) -> Path | None:
    """The file `path` names inside `root`, or None when it is outside, hidden or unknown."""
    parts = path.replace("\\", "/").split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    if "\x00" in path:
        return None
    candidate = (root / "/".join(parts)).resolve()
    if not candidate.is_relative_to(root) or candidate.suffix.lower() not in CONTENT_TYPES:
        return None
    return candidate if candidate.is_file() else None


async def _serve(root: Path, path: str) -> Response:
    file = resolve_ui_path(root, path)
    if file is None:
        raise ApiError(404, "not_found", "no such file")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise ApiError(404, "not_found", "no such file")
    body = await trio.Path(file).read_bytes()
    content_type = CONTENT_TYPES[file.suffix.lower()]
    response = Response(body, content_type=content_type)
    response.headers["Cache-Control"] = "no-cache"
    if file.suffix.lower() == ".html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    return response

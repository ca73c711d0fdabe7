"""`GET /openapi.json` (OpenAPI 3.1, built in code) and `GET /docs` (the same, as HTML).

The document is plain dicts: one `_op(...)` call per HTTP route, with its parameters and
their bounds, its body, its answer and the error statuses the route really returns.
`route_drift(app, document)` compares it with the app's URL map, so a route added or
removed without its documentation fails the tests (tests/server/test_openapi.py).

The docs page is rendered on the server, escaped with `html.escape`, without scripts.
Its own Content-Security-Policy allows the shared stylesheet and the one inline style
block (by hash), nothing else.

Example:
    app.register_blueprint(openapi_blueprint(ctx))
    # GET /openapi.json -> the document, GET /docs -> the HTML page
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from quart import Blueprint, Response

import safestream
from safestream.web.openapi._base import HTTP_METHODS, TAGS, UNDOCUMENTED_ENDPOINTS, Json
from safestream.web.openapi.admin_operations import admin_operations
from safestream.web.openapi.drift import http_routes, route_drift
from safestream.web.openapi.model_operations import model_operations
from safestream.web.openapi.operations import public_operations, websockets
from safestream.web.openapi.page import DOCS_CSP, docs_html
from safestream.web.openapi.schemas import schemas

__all__ = [
    "DOCS_CSP",
    "HTTP_METHODS",
    "UNDOCUMENTED_ENDPOINTS",
    "docs_html",
    "http_routes",
    "openapi_blueprint",
    "openapi_document",
    "route_drift",
]

if TYPE_CHECKING:
    from safestream.settings import Settings
    from safestream.web.context import AppContext


def openapi_document(settings: Settings) -> Json:
    """The OpenAPI 3.1 document of every HTTP route (plain JSON-able dicts)."""
    paths = {**public_operations(), **admin_operations(), **model_operations()}
    for path, methods in paths.items():
        for method, op in methods.items():
            slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
            op["operationId"] = f"{method}_{slug}"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SafeStream HTTP API",
            "version": safestream.__version__,
            "summary": "Live-stream chat where every message is moderated before delivery.",
            "description": 'Errors are JSON `{"detail": "...", "error": "<code>"}` with '
            "the HTTP status. Log in with `POST /auth/login` and send the token as "
            "`Authorization: Bearer <jwt>`. Roles, weakest first: viewer, moderator, admin; "
            "a route needing a role answers 401 without a valid token and 403 without the "
            "role. Unknown paths answer 404, wrong methods 405, bodies over 64 KiB 413.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": TAGS,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "From POST /auth/login; expires after "
                    f"{settings.jwt_expire_minutes} minutes.",
                }
            },
            "schemas": schemas(settings),
        },
        "x-websockets": websockets(settings),
    }


def openapi_blueprint(ctx: AppContext) -> Blueprint:
    """`GET /openapi.json` and `GET /docs`, built once from the settings."""
    bp = Blueprint("openapi", __name__)
    document = openapi_document(ctx.settings)
    document_json = json.dumps(document, indent=1)
    page = docs_html(document)

    @bp.get("/openapi.json")
    async def openapi_json() -> Response:
        response = Response(document_json, content_type="application/json")
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/docs")
    async def docs() -> Response:
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = DOCS_CSP
        response.headers["Cache-Control"] = "no-cache"
        return response

    return bp

"""The Quart-Trio application: route modules registered on one app, JSON errors.

Example:
    app = create_app(ctx)      # an ASGI app; safestream.web.asgi mounts it
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import Response, jsonify
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from safestream.web.deps import ApiError
from safestream.web.openapi import openapi_blueprint
from safestream.web.routes.admin import admin_blueprint
from safestream.web.routes.api import api_blueprint
from safestream.web.routes.auth import auth_blueprint
from safestream.web.routes.gifts import gift_blueprint
from safestream.web.routes.model import model_blueprint
from safestream.web.routes.ui import ui_blueprint

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["create_app"]

MAX_BODY_BYTES = 64 * 1024


def create_app(ctx: AppContext) -> QuartTrio:
    app = QuartTrio("safestream")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["BODY_TIMEOUT"] = ctx.settings.body_timeout_secs
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = True
    app.register_blueprint(auth_blueprint(ctx))
    app.register_blueprint(api_blueprint(ctx))
    app.register_blueprint(admin_blueprint(ctx))
    app.register_blueprint(gift_blueprint(ctx))
    app.register_blueprint(model_blueprint(ctx))
    app.register_blueprint(ui_blueprint())
    app.register_blueprint(openapi_blueprint(ctx))

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> tuple[Response, int]:
        response = jsonify(error.body())
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return response, error.status

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        body: dict[str, Any] = {
            "detail": error.description,
            "error": (error.name or "").lower().replace(" ", "_"),
        }
        return jsonify(body), status

    @app.after_request
    async def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app

"""The Quart-Trio application: route modules registered on one app, JSON errors, OpenAPI.

Quart-Schema (validation and the OpenAPI document) runs on Quart-Trio as it does on
Quart: `QuartTrio` subclasses `Quart`, and Quart-Schema only wraps route functions,
`make_response` and the JSON provider, none of which touch the event loop.

Example:
    app = create_app(ctx)      # an ASGI app; safestream.web.asgi mounts it
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Response
from quart_trio import QuartTrio

from safestream.web.errors import MAX_BODY_BYTES, install_error_handlers
from safestream.web.openapi import install_openapi
from safestream.web.routes.admin import admin_blueprint
from safestream.web.routes.api import api_blueprint
from safestream.web.routes.auth import auth_blueprint
from safestream.web.routes.faults import faults_blueprint
from safestream.web.routes.gifts import gift_blueprint
from safestream.web.routes.model import model_blueprint
from safestream.web.routes.policy_whatif import whatif_blueprint
from safestream.web.routes.ui import ui_blueprint

if TYPE_CHECKING:
    from safestream.web.context import AppContext

__all__ = ["MAX_BODY_BYTES", "create_app"]


def create_app(ctx: AppContext) -> QuartTrio:
    app = QuartTrio("safestream", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["BODY_TIMEOUT"] = ctx.settings.body_timeout_secs
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = True
    # Werkzeug redirects `/a//b` to `/a/b` with an absolute URL built from the Host header;
    # a redirect must never name a host the client chose, so such paths are just 404.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = True
    install_openapi(app, ctx.settings)
    install_error_handlers(app)
    app.register_blueprint(auth_blueprint(ctx))
    app.register_blueprint(api_blueprint(ctx))
    app.register_blueprint(admin_blueprint(ctx))
    app.register_blueprint(faults_blueprint(ctx))
    app.register_blueprint(gift_blueprint(ctx))
    app.register_blueprint(model_blueprint(ctx))
    app.register_blueprint(whatif_blueprint(ctx))
    app.register_blueprint(ui_blueprint())

    @app.after_request
    async def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app

"""Comparing the OpenAPI document with the routes the app really serves."""

from __future__ import annotations

import re

from quart import Quart

from safestream.web.openapi._base import (
    HTTP_METHODS,
    UNDOCUMENTED_ENDPOINTS,
    Json,
)

# --------------------------------------------------------------------------

_RULE_ARG = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def http_routes(app: Quart) -> set[tuple[str, str]]:
    """(OpenAPI path, lower-case method) of every HTTP route the app serves.

    Leaves out WebSocket rules, file-serving routes (`UNDOCUMENTED_ENDPOINTS`) and the
    automatic HEAD and OPTIONS.
    """
    routes: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if getattr(rule, "websocket", False) or rule.endpoint in UNDOCUMENTED_ENDPOINTS:
            continue
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method.lower() in HTTP_METHODS:
                routes.add((path, method.lower()))
    return routes


def documented_routes(document: Json) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, methods in document["paths"].items()
        for method in methods
        if method in HTTP_METHODS
    }


def route_drift(app: Quart, document: Json) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(served but undocumented, documented but not served); both empty when in sync."""
    served, documented = http_routes(app), documented_routes(document)
    return served - documented, documented - served

"""The OpenAPI document and the docs page agree with the live app: routes, methods, auth."""

from __future__ import annotations

import html
import re
from typing import Any

from quart_schema.openapi import QUART_SCHEMA_HIDDEN_ATTRIBUTE
from serverkit import Server

from actors import ActorSystem
from safestream.moderation.classifiers import KeywordClassifier
from safestream.node import NodeParts, app_context
from safestream.web.app import create_app

PATH_VALUES = {"room": "main", "message_id": "0" * 32}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
RULE_ARG = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def served_routes(app: Any) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every HTTP route the app serves, but hidden file routes."""
    routes = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.websocket or getattr(view, QUART_SCHEMA_HIDDEN_ATTRIBUTE, False):
            continue
        path = RULE_ARG.sub(r"{\1}", rule.rule)
        routes |= {(path, m.lower()) for m in rule.methods or () if m.lower() in HTTP_METHODS}
    return routes


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
        if method in HTTP_METHODS
    ]


def refs(node: Any) -> set[str]:
    """Names of the component schemas `node` refers to, at any depth."""
    if isinstance(node, dict):
        found = {str(node["$ref"]).rsplit("/", 1)[-1]} if "$ref" in node else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node))
    return set()


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


async def test_document_matches_the_apps_routes(server: Server) -> None:
    response = await server.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["version"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for name in ("Error", "Registered", "Token", "User", "ChatFrame", "GiftFrame", "Policy"):
        assert name in document["components"]["schemas"], name

    parts = NodeParts.create(server.settings, KeywordClassifier())
    try:
        app = create_app(app_context(parts, ActorSystem("drift-check")))
        served = served_routes(app)
        documented = {(path, method) for path, method, _op in operations(document)}
        assert served - documented == set(), "routes missing from the document"
        assert documented - served == set(), "documented routes the app does not serve"
        assert ("/api/admin/rooms/{room}/policy", "put") in served
    finally:
        parts.db.dispose()

    schemas = document["components"]["schemas"]
    assert refs(schemas) <= set(schemas)
    operation_ids = [op["operationId"] for _path, _method, op in operations(document)]
    assert len(operation_ids) == len(set(operation_ids))
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        assert op["summary"] and op["responses"]["200"], where
        assert refs(op) <= set(schemas), where
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), where
        role = op.get("x-required-role")
        if role is None:
            assert op["security"] == [], where
            continue
        assert role in ("viewer", "moderator", "admin"), where
        assert op["security"] == [{"bearerAuth": []}], where
        assert "401" in op["responses"], where
        if role != "viewer":
            assert "403" in op["responses"], where


async def test_documented_security_holds_on_the_live_server(server: Server) -> None:
    """No token: 401 exactly where a role is documented; a viewer: 403 above its role."""
    document = (await server.http.get("/openapi.json")).json()
    viewer = await server.auth_headers("demo_user")
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        url = concrete(path)
        role = op.get("x-required-role")
        anonymous = await server.http.request(method, url)
        assert str(anonymous.status_code) in op["responses"], (where, anonymous.status_code)
        if role is None:
            assert anonymous.status_code not in (401, 403), where
            continue
        assert anonymous.status_code == 401, where
        assert anonymous.json()["error"] == "not_authenticated", where
        as_viewer = await server.http.request(method, url, headers=viewer)
        assert str(as_viewer.status_code) in op["responses"], (where, as_viewer.status_code)
        if role == "viewer":
            assert as_viewer.status_code not in (401, 403), where
        else:
            assert as_viewer.status_code == 403, where
            assert as_viewer.json()["error"] == "forbidden", where


async def test_docs_page_lists_every_route_and_runs_no_script(server: Server) -> None:
    document = (await server.http.get("/openapi.json")).json()
    response = await server.http.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    page = response.text
    assert "<script" not in page.lower()
    for path, _method, op in operations(document):
        assert html.escape(path) in page, path
        assert f'id="{op["operationId"]}"' in page, path
    for socket in ("/ws/{username}", "/api/admin/events/ws"):
        assert html.escape(socket) in page, socket
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page, name

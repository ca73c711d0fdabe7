"""Shared pieces of the OpenAPI document: constants, schema and operation helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from safestream.accounts.auth import Role
from safestream.chat.room_supervisor import ROOM_NAME

Json = dict[str, Any]

HTTP_METHODS = ("get", "put", "post", "delete", "patch")

# File-serving routes: the stylesheets, scripts and images of the browser client.
UNDOCUMENTED_ENDPOINTS = frozenset({"static", "ui.static_file"})

ROLES = tuple(role.value for role in Role)

TAGS: list[Json] = [
    {"name": "auth", "description": "Accounts and tokens (OAuth2 password flow, JWT)."},
    {"name": "rooms", "description": "Rooms and their stored history."},
    {"name": "gifts", "description": "Sending gifts and the top-gifters board."},
    {"name": "monitoring", "description": "Health, metrics and the actor supervision tree."},
    {"name": "moderation", "description": "Moderator tools: sanctions, review, audit, feed."},
    {"name": "policy", "description": "Per-room moderation policy."},
    {"name": "ui", "description": "The browser client's pages."},
    {"name": "docs", "description": "This documentation."},
]

_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


# --- schema helpers ---------------------------------------------------------------------


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: Iterable[str] = (), additional: Any = None, **props: Json) -> Json:
    schema: Json = {"type": "object", "properties": props}
    req = list(required)
    if req:
        schema["required"] = req
    if additional is not None:
        schema["additionalProperties"] = additional
    return schema


def _s(description: str = "", **extra: Any) -> Json:
    return {"type": "string", **extra, **({"description": description} if description else {})}


def _i(description: str = "", **extra: Any) -> Json:
    return {"type": "integer", **extra, **({"description": description} if description else {})}


def _n(description: str = "", **extra: Any) -> Json:
    return {"type": "number", **extra, **({"description": description} if description else {})}


def _arr(items: Json, **extra: Any) -> Json:
    return {"type": "array", "items": items, **extra}


def _nullable(schema: Json) -> Json:
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    return out


ROOM_PATTERN = ROOM_NAME.pattern


# --- operation helpers ------------------------------------------------------------------


def _error(status: int, codes: Iterable[str]) -> Json:
    names = list(codes)
    return {
        "description": f"{_STATUS_TEXT[status]}: " + ", ".join(f"`{c}`" for c in names),
        "x-error-codes": names,
        "content": {"application/json": {"schema": ref("Error")}},
    }


def _json(schema: Json, description: str = "OK") -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: Json, description: str = "") -> Json:
    param: Json = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def _limit(default: int, high: int) -> Json:
    return _query("limit", _i(minimum=1, maximum=high, default=default), "how many at most")


def _path(name: str, schema: Json, description: str = "") -> Json:
    param: Json = {"name": name, "in": "path", "required": True, "schema": schema}
    if description:
        param["description"] = description
    return param


ROOM_PARAM = _path("room", _s(pattern=ROOM_PATTERN), "room name")
MESSAGE_PARAM = _path("message_id", _s(), "the message id (32 hex characters)")


def _op(
    tag: str,
    summary: str,
    *,
    ok: Json,
    role: str | None = None,
    description: str = "",
    params: Iterable[Json] = (),
    body: Json | None = None,
    body_required: bool = True,
    errors: dict[int, Iterable[str]] | None = None,
) -> Json:
    """One operation: auth (401/403), JSON body (400/413/415) and bounds (422) included."""
    found: dict[int, list[str]] = {}

    def add(status: int, *codes: str) -> None:
        found.setdefault(status, [])
        found[status] += [c for c in codes if c not in found[status]]

    op: Json = {"tags": [tag], "summary": summary, "operationId": ""}
    notes = [description] if description else []
    if role is None:
        op["security"] = []
    else:
        op["security"] = [{"bearerAuth": []}]
        op["x-required-role"] = role
        notes.append(f"Requires the **{role}** role (or higher).")
        add(401, "not_authenticated", "invalid_token")
        if role != "viewer":
            add(403, "forbidden")
    parameters = list(params)
    if parameters:
        op["parameters"] = parameters
        if any(p["in"] == "query" and "maximum" in p["schema"] for p in parameters):
            add(422, "invalid_query")  # integer arguments outside their bounds
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": body}
        if "application/json" in body:
            add(400, "bad_json")
            add(413, "request_entity_too_large")
            if "application/x-www-form-urlencoded" not in body and body_required:
                add(415, "unsupported_media_type")
    for status, codes in (errors or {}).items():
        add(status, *codes)
    if notes:
        op["description"] = "\n\n".join(notes)
    responses: Json = {"200": ok}
    for status in sorted(found):
        responses[str(status)] = _error(status, found[status])
    op["responses"] = responses
    return op


def _sse(events: str) -> Json:
    return {
        "description": f"Server-Sent Events ({events}); the stream stays open",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }


HTML_OK: Json = {
    "description": "HTML page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _json_body(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}

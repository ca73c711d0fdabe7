"""Quart-Schema's OpenAPI provider, told what our decorators mean.

Quart-Schema builds each operation from the route's models (body, query, answer) and
docstring. This subclass adds what only we know, read from the attributes that
`safestream.web.deps.authenticated` and `documented` put on each route:

- `security` (`bearerAuth`, or `[]` for public routes), `x-required-role` and a line in
  the description saying which role is needed;
- every error status the route can answer, each with its codes (`x-error-codes`) and the
  `Error` body: 401/403 from the role, 400/413/415/422 from a JSON body, 422 from a query
  string, and the route's own;
- each body's and answer's model as a named component schema (`#/components/schemas/X`);
- the room pattern on `{room}` path parameters, the media type of non-JSON answers, and a
  required `requestBody` unless the route says it is optional.

Routes marked `hide` (the client's static files) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from quart_schema import DataSource, OpenAPIProvider
from quart_schema.typing import Model
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
    QUART_SCHEMA_RESPONSE_ATTRIBUTE,
)
from werkzeug.routing import Rule
from werkzeug.routing.converters import BaseConverter

from safestream.accounts.auth import Role
from safestream.chat.room_supervisor import ROOM_NAME
from safestream.web.deps import (
    CONTENT_ATTRIBUTE,
    ERRORS_ATTRIBUTE,
    OPTIONAL_BODY_ATTRIBUTE,
    ROLE_ATTRIBUTE,
)
from safestream.web.models.base import Error

__all__ = ["ERROR_REF", "SafeStreamProvider"]

Json = dict[str, Any]
ERROR_REF = "#/components/schemas/Error"
PATH_PARAMETERS = {
    "room": ("room name", {"type": "string", "pattern": ROOM_NAME.pattern}),
    "message_id": ("the message id (32 hex characters)", {"type": "string"}),
}


class SafeStreamProvider(OpenAPIProvider):
    """Adds roles, security, error responses and path-parameter bounds to each operation."""

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        document["components"]["schemas"]["Error"] = Error.model_json_schema()
        return document

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        for methods in paths.values():
            for method, operation in methods.items():
                # Quart-Schema shares one dict between a rule's methods: copy before editing.
                methods[method] = self._complete(dict(operation), func)
        return paths, components

    def build_request_body(
        self, model: type[Model], source: DataSource
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        body, components = super().build_request_body(model, source)
        return _named(body, model, components)

    def build_response_object(
        self, model: type[Model], headers_model: type[Model] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        response, components = super().build_response_object(model, headers_model)
        return _named(response, model, components)

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter: Json = super().build_path_parameter(name, converter)
        if name in PATH_PARAMETERS:
            description, schema = PATH_PARAMETERS[name]
            parameter.update(description=description, schema=dict(schema))
        return parameter

    def _complete(self, op: Json, func: Any) -> Json:
        errors: dict[int, list[str]] = {}

        def add(status: int, *codes: str) -> None:
            known = errors.setdefault(status, [])
            known.extend(code for code in codes if code not in known)

        role: Role | None = getattr(func, ROLE_ATTRIBUTE, None)
        notes = [op["description"].strip()] if op.get("description", "").strip() else []
        if role is None:
            op["security"] = []
        else:
            op["x-required-role"] = role.value
            notes.append(f"Requires the **{role.value}** role (or higher).")
            add(401, "not_authenticated", "invalid_token")
            if role is not Role.VIEWER:
                add(403, "forbidden")
        if notes:
            op["description"] = "\n\n".join(notes)
        else:
            op.pop("description", None)
        if not op.get("parameters"):
            op.pop("parameters", None)
        if getattr(func, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, None) is not None:
            add(422, "invalid_query")
        request = getattr(func, QUART_SCHEMA_REQUEST_ATTRIBUTE, None)
        if request is not None and "requestBody" in op:
            optional = getattr(func, OPTIONAL_BODY_ATTRIBUTE, False)
            content = dict(op["requestBody"]["content"])
            if request[1] is DataSource.FORM:
                # Form routes (the OAuth2 login) take the same fields as JSON too.
                content["application/json"] = content["application/x-www-form-urlencoded"]
            op["requestBody"] = {"content": content, "required": not optional}
            add(400, "bad_json")
            add(413, "request_entity_too_large")
            if list(content) == ["application/json"] and not optional:
                add(415, "unsupported_media_type")
            add(422, "invalid_request")
        for status, codes in getattr(func, ERRORS_ATTRIBUTE, {}).items():
            add(status, *codes)
        responses: Json = {}
        if not getattr(func, QUART_SCHEMA_RESPONSE_ATTRIBUTE, None):
            responses["200"] = _plain_ok(getattr(func, CONTENT_ATTRIBUTE, "application/json"))
        for status, body in op["responses"].items():
            responses[str(status)] = {**body, "description": body.get("description") or "OK"}
        for status in sorted(errors):
            responses[str(status)] = _error_response(status, errors[status])
        op["responses"] = responses
        return op

    def generate_methods(self, rule: Rule) -> Iterable[str]:
        return sorted(super().generate_methods(rule))


def _named(obj: Json, model: type[Model], components: Json) -> tuple[Json, Json]:
    """`obj` with its content's schema moved to `components` under the model's name."""
    name = getattr(model, "__name__", None)
    if name is None:
        return obj, components
    for media in obj.get("content", {}).values():
        if isinstance(media, dict) and "schema" in media:
            components = {**components, name: media["schema"]}
            media["schema"] = {"$ref": f"#/components/schemas/{name}"}
    return obj, components


def _plain_ok(media: str) -> Json:
    if media == "application/json":
        return {"description": "OK", "content": {media: {"schema": {"type": "object"}}}}
    return {"description": "OK", "content": {media: {"schema": {"type": "string"}}}}


def _error_response(status: int, codes: list[str]) -> Json:
    return {
        "description": f"{HTTPStatus(status).phrase}: " + ", ".join(f"`{c}`" for c in codes),
        "x-error-codes": codes,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }

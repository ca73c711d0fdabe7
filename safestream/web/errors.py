"""Every refusal in one JSON shape, `{"detail": "...", "error": "<code>"}`, whatever the input.

The app's error handlers turn Quart-Schema's validation errors, malformed JSON and
Werkzeug's HTTP errors into that shape:

- 400 `bad_json`: the body is not JSON (not UTF-8, broken syntax, NaN/Infinity, nested
  deeper than `MAX_JSON_DEPTH`; Python's parser would otherwise hit its recursion limit
  and Quart-Trio's strict UTF-8 decode would raise: both 500s).
- 413 `request_entity_too_large`: over `MAX_BODY_BYTES`.
- 415 `unsupported_media_type`: a route that takes a JSON body got another content type.
- 422 `invalid_request` / `invalid_query`: the body or query string does not fit its
  model; `detail` names the field (`reason: Input should be a valid string`) and
  `fields` lists every bad one. No exception class or input value is ever echoed.

Example:
    install_error_handlers(app)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import ValidationError
from quart import Response, current_app, jsonify, request
from quart.json.provider import JSONProvider
from quart_schema import DataSource, RequestSchemaValidationError
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE, QuerystringValidationError
from quart_trio.wrappers import TrioRequest
from werkzeug.exceptions import HTTPException

from safestream.web.deps import ApiError

if TYPE_CHECKING:
    from quart_trio import QuartTrio

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "ApiRequest",
    "install_error_handlers",
    "validation_detail",
]

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # no body of this API nests deeper than 4
MAX_FIELDS_REPORTED = 10


class ApiRequest(TrioRequest):
    """A request whose malformed JSON body is a 400 `bad_json` in our shape."""

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The JSON body; 400 `bad_json` when it is not UTF-8 (Quart-Trio's decode would 500)."""
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except UnicodeDecodeError:
            raise ApiError(400, "bad_json", "the body is not valid UTF-8") from None

    def on_json_loading_failed(self, error: Exception) -> NoReturn:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {error}"[:200])


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _check_depth(value: Any) -> None:
    """Raise ValueError when `value` nests deeper than MAX_JSON_DEPTH (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def strict_json_provider(base: type[JSONProvider]) -> type[JSONProvider]:
    """`base` (Quart-Schema's provider) whose `loads` refuses NaN, Infinity and deep nesting.

    Every failure is a ValueError, which Quart hands to `ApiRequest.on_json_loading_failed`.
    """

    class StrictJSONProvider(base):  # type: ignore[valid-type,misc]
        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            try:
                value = json.loads(s, parse_constant=_no_constants, **kwargs)
            except RecursionError:
                raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
            _check_depth(value)
            return value

    return StrictJSONProvider


def _printable(part: object) -> str:
    text = str(part)[:60]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def validation_detail(error: Exception) -> tuple[str, list[dict[str, str]]]:
    """A one-line detail naming the first bad field, and every bad field with its message."""
    if not isinstance(error, ValidationError):
        return "the request does not fit its schema", []
    fields = []
    for item in error.errors(include_url=False, include_input=False)[:MAX_FIELDS_REPORTED]:
        where = ".".join(_printable(part) for part in item["loc"]) or "body"
        message = item["msg"]
        if item["type"] in ("value_error", "assertion_error"):
            message = str(item.get("ctx", {}).get("error", message))
        if item["type"] == "model_attributes_type" or item["type"] == "dict_type":
            message = "must be a JSON object"
        fields.append({"field": where, "message": message})
    if not fields:
        return "the request does not fit its schema", []
    first = fields[0]
    return f"{first['field']}: {first['message']}", fields


def _takes_json_only() -> bool:
    """Whether the current route's body must be JSON (not a form, not optional)."""
    view = current_app.view_functions.get(request.endpoint or "")
    spec = getattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE, None)
    return spec is not None and spec[1] is DataSource.JSON


def install_error_handlers(app: QuartTrio) -> None:
    """Register the handlers that render every error in our shape."""
    app.request_class = ApiRequest
    app.json = strict_json_provider(type(app.json))(app)

    @app.errorhandler(ApiError)
    async def api_error(error: ApiError) -> tuple[Response, int]:
        response = jsonify(error.body())
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return response, error.status

    @app.errorhandler(RequestSchemaValidationError)
    async def schema_error(error: RequestSchemaValidationError) -> tuple[Response, int]:
        if isinstance(error, QuerystringValidationError):
            detail, fields = validation_detail(error.validation_error)
            return jsonify({"detail": detail, "error": "invalid_query", "fields": fields}), 422
        if _takes_json_only() and not request.is_json:
            body = {
                "detail": "send a JSON body (Content-Type: application/json)",
                "error": "unsupported_media_type",
            }
            return jsonify(body), 415
        detail, fields = validation_detail(error.validation_error)
        return jsonify({"detail": detail, "error": "invalid_request", "fields": fields}), 422

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        body: dict[str, Any] = {
            "detail": error.description or "",
            "error": (error.name or "").lower().replace(" ", "_"),
        }
        return jsonify(body), status

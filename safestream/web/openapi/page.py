"""The `/docs` page: the OpenAPI document rendered as escaped HTML, no scripts.

Rendered once from the generated document: operations by tag, their parameters, body,
answers and error codes, the WebSocket summary and every component schema. Its own
Content-Security-Policy allows the shared stylesheet and the one inline style block (by
hash), nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from typing import Any

__all__ = ["DOCS_CSP", "docs_html"]

Json = dict[str, Any]

DOCS_STYLE = """
main.docs { max-width: 1100px; margin: 0 auto; padding: 1.5em; }
.docs h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.3em; margin-top: 2em; }
.docs section.op { background: var(--panel); border: 1px solid var(--line);
  border-radius: var(--radius); padding: 0.8em 1.1em; margin: 1em 0; }
.docs .method { display: inline-block; min-width: 4.5em; font-weight: 700;
  text-transform: uppercase; color: var(--accent-2); }
.docs .path, .docs code { font-family: ui-monospace, Menlo, Consolas, monospace; }
.docs .role { float: right; color: var(--warn); }
.docs .public { float: right; color: var(--ok); }
.docs table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
.docs th, .docs td { text-align: left; vertical-align: top; padding: 0.25em 0.6em;
  border-bottom: 1px solid var(--line); }
.docs .muted { color: var(--muted); }
.docs a { color: var(--accent-2); }
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(DOCS_STYLE.encode()).digest()).decode()

DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        f"style-src 'self' 'sha256-{_STYLE_HASH}'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _text(value: Any) -> str:
    """Escaped prose, with `code` spans and **bold** as in the document's descriptions."""
    escaped = _e(value)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _schema_html(schema: Json, depth: int = 0) -> str:
    """A compact, escaped rendering of a schema: `{name: string, age?: integer}`."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    if "const" in schema:
        return _e(json.dumps(schema["const"]))
    if "enum" in schema:
        return " | ".join(_e(json.dumps(v)) for v in schema["enum"])
    if "allOf" in schema:
        return " &amp; ".join(_schema_html(s, depth) for s in schema["allOf"])
    if "anyOf" in schema:
        return " | ".join(_schema_html(s, depth) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    parts: list[str] = []
    for k in kinds:
        if k == "array":
            parts.append(f"[{_schema_html(schema.get('items', {}), depth + 1)}]")
        elif k == "object" and "properties" in schema and depth < 2:
            required = set(schema.get("required", []))
            fields = ", ".join(
                f"{_e(name)}{'' if name in required else '?'}: {_schema_html(sub, depth + 1)}"
                for name, sub in schema["properties"].items()
            )
            parts.append("{" + fields + "}")
        elif k == "object" and isinstance(schema.get("additionalProperties"), dict):
            parts.append(f"{{string: {_schema_html(schema['additionalProperties'], depth + 1)}}}")
        else:
            parts.append(_e(k))
    return " | ".join(parts)


def _bound_notes(schema: Json) -> list[str]:
    notes = []
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            notes.extend(_bound_notes(option))
    for key, label in (
        ("minimum", "min"),
        ("exclusiveMinimum", "above"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("maxItems", "max items"),
        ("pattern", "pattern"),
        ("format", "format"),
        ("default", "default"),
    ):
        if key in schema:
            notes.append(f"{label} {json.dumps(schema[key])}")
    return notes


def _bounds(schema: Json) -> str:
    return _e(", ".join(_bound_notes(schema)))


def _param_rows(params: list[Json]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
        f"<td>{_schema_html(p['schema'])}</td><td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{_bounds(p['schema'])}</td><td>{_e(p.get('description', ''))}</td></tr>"
        for p in params
    )
    return (
        "<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th>"
        f"<th>bounds</th><th>description</th></tr>{rows}</table>"
    )


def _content_html(content: Json) -> str:
    return "<br>".join(
        f"<code>{_e(media)}</code>: {_schema_html(spec.get('schema', {}))}"
        for media, spec in content.items()
    )


def _operation_html(path: str, method: str, op: Json) -> str:
    role = op.get("x-required-role")
    badge = (
        f'<span class="role">role: {_e(role)} (bearer JWT)</span>'
        if role
        else '<span class="public">public</span>'
    )
    out = [
        f'<section class="op" id="{_e(op["operationId"])}">',
        f'<h3><span class="method">{_e(method)}</span> <span class="path">{_e(path)}</span>'
        f"{badge}</h3>",
        f"<p>{_e(op.get('summary', ''))}</p>",
    ]
    if op.get("description"):
        out += [f'<p class="muted">{_text(op["description"])}</p>']
    if op.get("parameters"):
        out.append(_param_rows(op["parameters"]))
    if "requestBody" in op:
        body = op["requestBody"]
        optional = "" if body.get("required") else " (optional)"
        out.append(f"<p><strong>Body{optional}</strong>: {_content_html(body['content'])}</p>")
    rows = "".join(
        f"<tr><td>{_e(status)}</td><td>{_text(resp.get('description', ''))}</td>"
        f"<td>{_content_html(resp.get('content', {}))}</td></tr>"
        for status, resp in op["responses"].items()
    )
    out.append(
        f"<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{rows}</table></section>"
    )
    return "".join(out)


def _schema_section(name: str, schema: Json) -> str:
    out = [f'<section class="op" id="schema-{_e(name)}"><h3>{_e(name)}</h3>']
    if schema.get("description"):
        out.append(f'<p class="muted">{_text(schema["description"])}</p>')
    parts = schema.get("allOf", [schema])
    for part in parts:
        if "properties" not in part:
            out.append(f"<p>{_schema_html(part)}</p>")
            continue
        required = set(part.get("required", []))
        rows = "".join(
            f"<tr><td><code>{_e(field)}</code></td><td>{_schema_html(sub, 1)}</td>"
            f"<td>{'yes' if field in required else 'no'}</td><td>{_bounds(sub)}</td>"
            f"<td>{_e(sub.get('description', ''))}</td></tr>"
            for field, sub in part["properties"].items()
        )
        out.append(
            "<table><tr><th>field</th><th>type</th><th>required</th><th>bounds</th>"
            f"<th>description</th></tr>{rows}</table>"
        )
    out.append("</section>")
    return "".join(out)


def _websocket_html(ws: Json) -> str:
    query = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td>{_e(v)}</td></tr>" for k, v in ws["query"].items()
    )
    facts = "".join(
        f"<tr><th>{_e(label)}</th><td>{_text(ws[key])}</td></tr>"
        for key, label in (
            ("auth", "authentication"),
            ("client_frames", "client → server"),
            ("server_frames", "server → client"),
            ("close_codes", "close codes"),
        )
    )
    return (
        f'<section class="op"><h3><span class="method">ws</span> '
        f'<span class="path">{_e(ws["path"])}</span>'
        f'<span class="role">role: {_e(ws["role"])}</span></h3><p>{_e(ws["summary"])}</p>'
        f"<table><tr><th>query</th><th>meaning</th></tr>{query}</table>"
        f"<table>{facts}</table></section>"
    )


def docs_html(document: Json) -> str:
    """The document as one self-contained, escaped HTML page (no scripts)."""
    info = document["info"]
    by_tag: dict[str, list[str]] = {tag["name"]: [] for tag in document["tags"]}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation_html(path, method, op))
    descriptions = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    toc = "".join(
        f'<li><a href="#tag-{_e(tag)}">{_e(tag)}</a> '
        f'<span class="muted">{_e(descriptions.get(tag, ""))}</span></li>'
        for tag, ops in by_tag.items()
        if ops
    )
    sections = "".join(
        f'<h2 id="tag-{_e(tag)}">{_e(tag)}</h2>{"".join(ops)}' for tag, ops in by_tag.items() if ops
    )
    sockets = "".join(_websocket_html(ws) for ws in document.get("x-websockets", []))
    schemas = "".join(
        _schema_section(name, schema) for name, schema in document["components"]["schemas"].items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(info['title'])} {_e(info['version'])}</title>"
        '<link rel="stylesheet" href="/ui/css/base.css">'
        f"<style>{DOCS_STYLE}</style></head>"
        f'<body><main class="docs"><h1>{_e(info["title"])} '
        f'<span class="muted">{_e(info["version"])}</span></h1>'
        f"<p>{_text(info['description'])}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI '
        f"{_e(document['openapi'])}).</p>"
        f'<ul>{toc}<li><a href="#websockets">websockets</a></li>'
        '<li><a href="#schemas">schemas</a></li></ul>'
        f'{sections}<h2 id="websockets">websockets</h2>{sockets}'
        f'<h2 id="schemas">schemas</h2>{schemas}</main></body></html>'
    )

"""Property-based tests: whatever a client sends as a JSON body, the answer is never a 5xx.

For every route that reads a JSON body, Hypothesis sends (as an admin, so each route gets
past its role check) JSON objects with the route's own field names holding values of any
type (lone surrogates, NUL, huge integers, NaN, nested containers), deeply nested
documents, arbitrary bytes and other content types. Every answer must be below 500 and,
for a refusal, our `{"detail", "error"}` shape with a detail that names no exception.
Derandomized, so a run is reproducible; a fixed number of examples per route.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serverkit import FUZZ_VIEWER, ThreadedServer

EXAMPLES = 40
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Value error|Traceback")

BODY_ROUTES = {
    ("POST", "/auth/register"): ["username", "password", "email"],
    ("POST", "/auth/login"): ["username", "password"],
    ("POST", "/api/gift"): ["gift_id", "amount", "room", "from"],
    ("POST", "/api/admin/kick"): ["username", "user", "reason"],
    ("POST", "/api/admin/mute"): ["username", "reason", "duration_secs", "duration", "minutes"],
    ("POST", "/api/admin/unmute"): ["username", "reason"],
    ("POST", "/api/admin/ban"): ["username", "reason", "duration_secs"],
    ("POST", "/api/admin/unban"): ["username", "reason"],
    ("POST", "/api/admin/messages/0123/delete"): ["reason"],
    ("POST", "/api/admin/actors/crash"): ["path"],
    ("PUT", "/api/admin/rooms/main/policy"): [
        "thresholds",
        "bands",
        "blocked_terms",
        "blocked_term_action",
        "slow_mode_secs",
        "max_duplicates",
        "failure_mode",
        "version",
    ],
}

surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
texts = st.one_of(
    st.text(max_size=50),
    surrogates,
    st.builds(lambda a, b: a + b, st.text(max_size=5), surrogates),
    st.sampled_from(["", "\x00", "main", FUZZ_VIEWER[0], "a@ex.org\r\nBcc: x", "<b>x</b>"]),
    st.text(min_size=300, max_size=2000),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)


def objects(fields: list[str]) -> st.SearchStrategy[dict[Any, Any]]:
    keys = st.one_of(st.sampled_from(fields), texts)
    return st.dictionaries(keys, values, max_size=len(fields) + 2)


def deep(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '{"a":' if opener == "{" else "["
    return '{"username":' + inner * depth + "1" * (opener == "{") + closer * depth + "}"


def bodies(fields: list[str]) -> st.SearchStrategy[tuple[bytes, str]]:
    json_type = st.sampled_from(["application/json", "application/json; charset=utf-8"])
    as_json = st.tuples(
        st.one_of(objects(fields), values).map(lambda v: json.dumps(v).encode()), json_type
    )
    nested = st.tuples(
        st.builds(deep, st.integers(1, 3000), st.sampled_from("[{")).map(str.encode), json_type
    )
    raw = st.tuples(
        st.binary(max_size=200),
        st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
    )
    return st.one_of(as_json, as_json, nested, raw)


def assert_client_error_shape(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["detail"], str) and isinstance(body["error"], str), body
        assert not EXCEPTION_NAME.search(body["detail"]), body["detail"]


@pytest.fixture(scope="module")
def http(fuzz_server: ThreadedServer) -> Any:
    # A new connection per request: after an answer sent before its request body was read
    # (415, 401), the next request on the same keep-alive connection gets no answer
    # (issue 11 item 5, in the HTTP server layer; not what these tests are about).
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(
        base_url=fuzz_server.url, headers=fuzz_server.admin_headers, limits=no_reuse, timeout=10
    ) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), sorted(BODY_ROUTES))
def test_no_body_makes_a_route_fail_with_5xx(http: httpx.Client, method: str, path: str) -> None:
    @given(body=bodies(BODY_ROUTES[(method, path)]))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    def send(body: tuple[bytes, str]) -> None:
        content, content_type = body
        response = http.request(
            method, path, content=content, headers={"Content-Type": content_type}
        )
        assert_client_error_shape(response)

    send()
    assert http.get("/health").json() == {"status": "ok"}

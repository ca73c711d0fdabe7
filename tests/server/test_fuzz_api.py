"""Schemathesis drives every operation of `/openapi.json` against a real server.

Each operation gets `EXAMPLES` generated requests, valid and invalid ones (bodies, query
strings and path values from the document's schemas), derandomized so a run is
reproducible, sent with an admin token so the moderator routes are exercised past their
role check. No answer may be 5xx; every refusal must be our JSON error shape. The two
Server-Sent Events routes never end, so they are left out (their role and query checks
are covered in test_openapi.py).

The operations run inside one test (Schemathesis' lazy pytest loader needs pytest
internals that pytest 9 no longer has); a failure names every operation that failed.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from serverkit import ThreadedServer

EXAMPLES = 12
# Left out: streams never end; a model retrain or rollback loads and evaluates a whole
# model (seconds to minutes), which is not what a request fuzzer measures (their own
# tests: tests/server/test_model_routes.py).
STREAMS = r"^/api/(admin/events|actors/stream|model/retrain|model/rollback)$"
BUDGET_SECS = 60.0
# Answers must match the document: only documented statuses and media types, bodies that
# fit their schema. Not `positive_data_acceptance`: a schema-valid body can still break a
# rule the schema cannot state (a password shorter than MIN_PASSWORD_LENGTH, a user that
# does not exist). Not `negative_data_rejection`: every request carries the admin token
# (so a case "without Authorization" is accepted) and unknown query arguments are
# ignored, as browsers' cache-busting arguments must be.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def check_answer(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, (where, response.status_code, response.text[:300])
    if response.status_code >= 400 and response.status_code != 405:
        body = response.json()
        assert isinstance(body.get("detail"), str), (where, body)
        assert isinstance(body.get("error"), str), (where, body)


def fuzz_operation(operation: Any, headers: dict[str, str]) -> None:
    strategy = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers, timeout=10)
        check_answer(case, response)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def test_no_operation_answers_5xx_or_another_error_shape(fuzz_server: ThreadedServer) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    operations = [result.ok() for result in schema.exclude(path_regex=STREAMS).get_all_operations()]
    assert len(operations) >= 25
    failures = []
    started = time.monotonic()
    for operation in operations:
        try:
            fuzz_operation(operation, fuzz_server.admin_headers)
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
    assert time.monotonic() - started < BUDGET_SECS
    # and the node is whole: no actor gave up under the fuzz
    assert httpx.get(f"{fuzz_server.url}/health").json() == {"status": "ok"}

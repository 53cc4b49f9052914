"""Schema conformance of the success answers: each endpoint of the permission matrix is
called with its valid request by the first account it answers with success, and its answer
(a 201 of a write included, which generated bodies seldom reach) must match the OpenAPI
schema, as test_schema_conformance.py requires of generated requests. Its own module, so
that its World holds only what each endpoint makes for itself."""

import re
from urllib.parse import parse_qsl

import pytest
from knox.models import AuthToken

from .test_permissions_matrix import ENDPOINTS
from .test_schema_conformance import CHECKS, in_process, schema

pytestmark = pytest.mark.schema_conformance

# The schema itself (/api/schema/) is not one of its operations.
SUCCESSES = [
    (name, next(who for who, code in expected.items() if 200 <= code < 300))
    for name, (_m, _u, _b, expected) in ENDPOINTS.items()
    if name != "schema" and any(200 <= code < 300 for code in expected.values())
]


def _operation_case(method: str, url: str, body):
    """The case of the schema's operation for a concrete URL."""
    path, _, query = url.partition("?")
    operation = schema.find_operation_by_path(method, path)
    assert operation is not None, f"{method} {path} is not in the schema"
    pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(operation.path))
    found = re.fullmatch(pattern, path).groupdict()
    return operation.Case(
        path_parameters={k: int(v) if v.isdigit() else v for k, v in found.items()},
        query=dict(parse_qsl(query)) or None,
        **({"body": body, "media_type": "application/json"} if body is not None else {}),
    )


@pytest.mark.parametrize(("endpoint", "who"), SUCCESSES, ids=[n for n, _ in SUCCESSES])
def test_success_answer_matches_the_schema(shared_world, endpoint, who):
    method, url, body, _expected = ENDPOINTS[endpoint]
    case = _operation_case(method.upper(), url(shared_world), body(shared_world) if body else None)
    _, token = AuthToken.objects.create(shared_world.users[who])
    with in_process():
        response = case.call(headers={"Authorization": f"Token {token}"})
    assert 200 <= response.status_code < 300, response.text[:300]
    case.validate_response(response, checks=CHECKS)

"""Schema conformance: schemathesis generates requests from the API's OpenAPI schema (as
drf-spectacular makes it) for every operation and sends them, in process, to the real
application (its WSGI handler, the test database, a World with families, eCRF responses,
queries, safety events and more), signed in with an API token as two roles: a site
coordinator (sees identity, writes) and a monitor (reviews, raises queries, reads only).
Path ids, and the ids a body or query names, are mostly those of real records, so a
request reaches the code behind the lookup.

Every answer must be: no server error; a status code the operation declares; a declared
content type; a body that matches the declared schema (the error shape included).

Bounded: EXAMPLES generated cases per operation and role (plus the schema's examples),
no shrinking, no deadline; the module takes a few minutes on two cores. Generated bodies
seldom pass every rule of a write, so test_schema_success_answers.py sends each endpoint's
valid request too."""

import os
from contextlib import contextmanager

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..access import (
    buc_allocation_id,
    buc_breach,
    buc_deviation,
    buc_safety_event,
    buc_unblinding,
    built_dmc,
    built_export,
    consent_v1,
    crf_family,
    crf_query,
    crf_response,
    family_at,
    open_screening,
    sealed_test_list,
    unsealed_live_list,
)
from ..conftest import rolled_back

pytestmark = pytest.mark.schema_conformance

# Generated cases per operation and role; SCHEMA_EXAMPLES asks for more in a deeper run.
EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "8"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.generation.update(max_examples=EXAMPLES, no_shrink=True)

SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture(scope="module")
def records(_module_world, django_db_blocker) -> dict[str, list]:
    """Real records of every kind a path names, made once for the module (inside its
    World's transaction), by path parameter name."""
    world, _ = _module_world
    with django_db_blocker.unblock():
        family = crf_family(world)
        response = crf_response(world)
        found = {
            "family_id": [family.pk, family_at(world, "OXF").pk],
            "family_identifier": [family.identifier, family_at(world, "OXF").identifier],
            "response_id": [response.pk, crf_response(world, "intervention_receipt").pk],
            "query_id": [crf_query(world).pk, crf_query(world, closed=True).pk],
            "user_id": [u.pk for u in world.users.values()],
            "site_id": [world.buc.pk, world.oxf.pk, world.mkn.pk],
            "membership_id": [m.pk for m in world.memberships.values()],
            "delegation_id": [
                d.pk for m in world.memberships.values() for d in m.delegations.all()
            ],
            "screening_id": [open_screening(world, "BUC").pk, open_screening(world, "OXF").pk],
            "consent_id": [c.pk for c in family.consents.all()],
            "version_id": [consent_v1(world).pk],
            "allocation_id": [buc_allocation_id(world)],
            "list_id": [sealed_test_list(world).pk, unsealed_live_list(world).pk],
            "deviation_id": [buc_deviation(world).pk, buc_breach(world).pk],
            "report_id": [built_dmc(world, build=False).pk],
            "event_id": [buc_safety_event(world).pk, buc_safety_event(world, assessed=True).pk],
            "item_id": [buc_unblinding(world, approved=True).pk],
            "export_id": [built_export(world).pk],
            "form_id": [f.pk for f in world._forms.values()],
        }
    return found


@contextmanager
def in_process():
    """Requests through the WSGI handler keep the test's database connection (as Django's
    test client does): it must not be closed at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# A body field or query parameter that names a record, by the path parameter of its kind.
NAMED_IN_BODY = {
    "site": "site_id",
    "response": "response_id",
    "screening": "screening_id",
    "user": "user_id",
    "family": "family_id",
}


def _real(value, ids: list):
    """A real record's id (or identifier) for most generated values (the value picks
    which); one in every few stays as generated, for the not-found answer."""
    if isinstance(value, bool) or not ids:
        return value
    pick = value if isinstance(value, int) else len(value) if isinstance(value, str) else None
    if pick is None or pick % (len(ids) + 1) == len(ids):
        return value
    return ids[pick % (len(ids) + 1)]


def _real_ids(case, records) -> None:
    """Path ids, and the ids a body or query names, mostly become real records'."""
    for name, value in list((case.path_parameters or {}).items()):
        if isinstance(value, int):
            case.path_parameters[name] = _real(value, records.get(name, []))
    for given in (case.body, case.query):
        if not isinstance(given, dict):
            continue
        for name, kind in NAMED_IN_BODY.items():
            value = given.get(name)
            if isinstance(value, int):
                given[name] = _real(value, records.get(kind, []))
            elif isinstance(value, str) and name == "family":
                given[name] = _real(value, records["family_identifier"])


def _conforms(case, user, records) -> None:
    _real_ids(case, records)
    with rolled_back():
        # A token for each case: a case may revoke it or change the password.
        _, token = AuthToken.objects.create(user)
        response = case.call(headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
@SETTINGS
def test_site_coordinator(case, shared_world, records):
    with in_process():
        _conforms(case, shared_world.coord_buc, records)


@pytest.mark.django_db
@schema.parametrize()
@SETTINGS
def test_monitor(case, shared_world, records):
    with in_process():
        _conforms(case, shared_world.monitor_buc, records)


def test_every_operation_declares_its_errors_in_the_one_shape():
    """Every error answer the schema declares is the one error shape; an operation that
    takes a path id can answer 404; one that needs a signed-in caller, 401 and 403; a write,
    400 and 409; any operation, 503."""
    error = "#/components/schemas/ErrorOut"
    for path, operations in schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code, response in responses.items():
                if int(code) >= 400:
                    assert response["content"]["application/json"]["schema"]["$ref"] == error
                    assert response["description"]
            declared = {int(code) for code in responses}
            assert 503 in declared, (method, path)
            if "{" in path:
                assert 404 in declared, (method, path)
            if operation.get("security") and {} not in operation["security"]:
                assert {401, 403} <= declared, (method, path)
            if method != "get":
                assert {400, 409} <= declared, (method, path)

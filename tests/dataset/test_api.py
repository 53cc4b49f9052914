"""Freezes, locks and the readiness report through the API: a held form answers 409 naming
the hold, bad input a 400 naming the field, and nothing is written on a refusal."""

import pytest

from audit.models import AuditEvent
from crf.models import Response
from lock.models import DataLock, Freeze
from tests.access import crf_entry_body, crf_family
from tests.factories import PASSWORD

from .conftest import ready_family

pytestmark = pytest.mark.django_db


def written():
    return Response.objects.count(), AuditEvent.objects.count(), Freeze.objects.count()


@pytest.mark.requirement("LCK-1")
def test_a_form_entered_at_a_frozen_site_is_refused_with_a_409_naming_the_freeze(world, api):
    family = crf_family(world)
    manager = api(world.manager)
    frozen = manager.post(
        "/api/v1/freezes/",
        {"scope": "site", "site": world.buc.pk, "reason": "Cleaning before the DMC."},
        format="json",
    )
    assert frozen.status_code == 201 and frozen.json()["holds"] == "site BUC"
    before = written()
    refused = api(world.coord_buc).post(
        f"/api/v1/families/{family.pk}/responses/", crf_entry_body(world), format="json"
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert "frozen (site BUC" in error["message"] and "lock" in error["fields"]
    assert written() == before
    released = manager.post(
        f"/api/v1/freezes/{frozen.json()['id']}/release/", {"reason": "Done."}, format="json"
    )
    assert released.status_code == 200 and released.json()["open"] is False
    entered = api(world.coord_buc).post(
        f"/api/v1/families/{family.pk}/responses/", crf_entry_body(world), format="json"
    )
    assert entered.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "site", "reason": "x"}, "site"),
        ({"scope": "casebook", "reason": "x"}, "family"),
        ({"scope": "response", "site": 1, "reason": "x"}, "response"),
        ({"scope": "planet", "reason": "x"}, "scope"),
        ({"scope": "site", "site": "BUC", "reason": "x"}, "site"),
    ],
)
def test_a_malformed_freeze_gets_a_400_naming_the_field(world, api, body, field):
    before = written()
    answer = api(world.manager).post("/api/v1/freezes/", body, format="json")
    assert answer.status_code == 400 and field in answer.json()["error"]["fields"]
    assert written() == before


def test_a_freeze_without_a_reason_is_refused_naming_the_reason(world, api):
    answer = api(world.manager).post(
        "/api/v1/freezes/", {"scope": "site", "site": world.buc.pk, "reason": " "}, format="json"
    )
    assert answer.status_code == 400 and "reason" in answer.json()["error"]["fields"]
    assert not Freeze.objects.exists()


def test_the_report_then_the_lock_then_the_two_person_unlock(world, api):
    ready_family(world)
    stats, manager = api(world.stats_blind), api(world.manager)
    report = stats.get("/api/v1/lock/readiness/").json()
    assert report == {
        "trial": "RC",
        "population": "",
        "ready": True,
        "total": 0,
        "concealed": 0,
        "blockers": [],
    }
    wrong = stats.post("/api/v1/locks/", {"password": "guess"}, format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()["error"]["fields"]
    locked = stats.post("/api/v1/locks/", {"password": PASSWORD}, format="json")
    assert locked.status_code == 201
    body = locked.json()
    assert (body["version"], body["open"], body["locked_by"]) == (1, True, "stats.blind")
    again = stats.post("/api/v1/locks/", {"password": PASSWORD}, format="json")
    assert again.status_code == 409
    asked = manager.post(
        f"/api/v1/locks/{body['id']}/unlock-request/", {"reason": "Late SAE."}, format="json"
    )
    assert asked.status_code == 200 and asked.json()["unlock_requested_by"] == "manager"
    same = manager.post(f"/api/v1/locks/{body['id']}/unlock-approve/")
    assert same.status_code == 403 and DataLock.objects.get().is_open
    done = stats.post(f"/api/v1/locks/{body['id']}/unlock-approve/")
    assert done.status_code == 200 and done.json()["unlocked_by"] == "stats.blind"


def test_an_unknown_population_is_a_400_naming_it(world, api):
    answer = api(world.stats_blind).get("/api/v1/lock/readiness/?population=secondary")
    assert answer.status_code == 400 and "population" in answer.json()["error"]["fields"]

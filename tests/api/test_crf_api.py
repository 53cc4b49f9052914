"""The eCRF through the API: the same checks as the pages, one error shape naming every
field, nothing written on refusal, and no arm-revealing form for blinded readers."""

import pytest

from audit.models import AuditEvent
from crf.models import Query, Response
from tests.access import crf_entry_body, crf_family, crf_response
from tests.crf.conftest import load_forms
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def written():
    return Response.objects.count(), Query.objects.count(), AuditEvent.objects.count()


def test_form_definitions_are_served_as_json(world, api):
    load_forms(world)
    forms = api(world.coord_buc).get("/api/v1/forms/").json()
    core10 = next(f for f in forms if f["form"] == "core10")
    assert core10["version"] == 1 and core10["spec"]["fields"][1]["type"] == "grid"
    assert core10["spec"]["scoring"][0]["reverse"] == [2, 3]
    assert api(world.outsider).get("/api/v1/forms/").json() == []


@pytest.mark.requirement("AUD-3")
def test_enter_then_change_with_a_reason(world, api):
    body = crf_entry_body(world)
    family = crf_family(world)
    client = api(world.assessor_buc)
    created = client.post(f"/api/v1/families/{family.pk}/responses/", body, format="json")
    assert created.status_code == 201, created.content
    entered = created.json()
    assert entered["status"] == "complete" and entered["in_window"] is True
    assert entered["scores"]["total"]["value"] is not None
    url = f"/api/v1/families/{family.pk}/responses/{entered['id']}/"
    other = 1 if entered["values"]["item_1"] != 1 else 2  # a real change, whatever was drawn
    refused = client.patch(url, {"values": {"item_1": other}}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()["error"]["fields"]
    changed = client.patch(
        url, {"values": {"item_1": other}, "reason": "misread", "revision": 1}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["revision"] == 2
    stale = client.patch(
        url, {"values": {"item_1": 2}, "reason": "again", "revision": 1}, format="json"
    )
    assert stale.status_code == 409 and "revision" in stale.json()["error"]["fields"]


def test_bad_answers_name_every_field_and_write_nothing(world, api):
    body = crf_entry_body(world)
    body["values"].update({"item_1": "lots", "item_2": 9, "completed_on": "31/12/2025"})
    family = crf_family(world)
    before = written()
    refused = api(world.coord_buc).post(
        f"/api/v1/families/{family.pk}/responses/", body, format="json"
    )
    assert refused.status_code == 400
    fields = refused.json()["error"]["fields"]
    assert fields == {
        "completed_on": ["must be a date (YYYY-MM-DD)"],
        "item_1": ["must be a whole number"],
        "item_2": ["must be at most 6"],
    }
    assert written() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"form": "psoc", "visit": "month_6"}, "values"),
        ({"form": "psoc", "visit": "month_6", "values": "item_1=3"}, "values"),
        ({"form": "nonsense", "visit": "month_6", "values": {}}, "form"),
        ({"form": "psoc", "visit": "week_1", "values": {}}, "visit"),
        ({"form": "psoc", "visit": "", "values": {}}, "visit"),
    ],
)
def test_malformed_requests_get_a_4xx_naming_the_field(world, api, body, field):
    family = crf_family(world)
    load_forms(world)
    before = written()
    refused = api(world.coord_buc).post(
        f"/api/v1/families/{family.pk}/responses/", body, format="json"
    )
    assert refused.status_code == 400 and field in refused.json()["error"]["fields"]
    assert written() == before


def test_a_blinded_assessor_never_sees_an_arm_revealing_form(world, api):
    receipt = crf_response(world, "intervention_receipt")
    family = crf_family(world)
    listed = api(world.assessor_buc).get(f"/api/v1/families/{family.pk}/responses/").json()
    assert receipt.pk not in [r["id"] for r in listed] and listed
    unblinded = api(world.coord_buc).get(f"/api/v1/families/{family.pk}/responses/").json()
    assert receipt.pk in [r["id"] for r in unblinded]
    for who in (world.assessor_buc, world.stats_blind):
        body = api(who).get(f"/api/v1/families/{family.pk}/responses/").content.decode()
        assert "intervention_receipt" not in body and "RECONNECT" not in body


@pytest.mark.requirement("SIG-2", "SIG-3")
def test_query_answer_with_correction_and_signature_through_the_api(world, api):
    response = crf_response(world)
    family = crf_family(world)
    raised = (
        api(world.monitor_buc)
        .post(
            "/api/v1/queries/",
            {"response": response.pk, "field": "item_4", "text": "Source says 0."},
            format="json",
        )
        .json()
    )
    answered = api(world.coord_buc).post(
        f"/api/v1/queries/{raised['id']}/answer/",
        {"text": "Corrected", "correction": {"item_4": 0}, "reason": "source document"},
        format="json",
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert Response.objects.get(pk=response.pk).values["item_4"] == 0
    bad = api(world.pi_buc).post(
        f"/api/v1/families/{family.pk}/signatures/",
        {"password": "not-mine", "meaning": "reviewed"},
        format="json",
    )
    assert bad.status_code == 400 and "password" in bad.json()["error"]["fields"]
    signed = api(world.pi_buc).post(
        f"/api/v1/families/{family.pk}/signatures/",
        {"password": PASSWORD, "meaning": "reviewed"},
        format="json",
    )
    assert signed.status_code == 201 and signed.json()["valid"] is True
    api(world.assessor_buc).patch(
        f"/api/v1/families/{family.pk}/responses/{response.pk}/",
        {"values": {"item_4": 1}, "reason": "re-checked"},
        format="json",
    )
    (signature,) = api(world.pi_buc).get(f"/api/v1/families/{family.pk}/signatures/").json()
    assert signature["valid"] is False and "re-checked" in signature["invalidated_reason"]

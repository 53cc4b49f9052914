"""Bad input to screening, enrolment and consent: a clear 4xx naming the field, nothing written."""

from datetime import timedelta

import pytest

from audit.models import AuditEvent
from core.clock import today
from trial.consents import consent_version_create
from trial.models import ConsentRecord, Family, ScreeningRecord

from ..access import consent_v1, enrol_body, family_at
from ..trial.conftest import ELIGIBLE
from .test_bad_input import assert_error


def nothing_written():
    return (
        ScreeningRecord.objects.count(),
        Family.objects.count(),
        ConsentRecord.objects.count(),
        AuditEvent.objects.count(),
    )


def screening_body(world, **overrides):
    body = {
        "site": world.buc.pk,
        "referral_date": str(today() - timedelta(days=3)),
        "referrer_type": "social_worker",
        "child_date_of_birth": str(today() - timedelta(90)),
        "answers": ELIGIBLE,
    }
    return body | overrides


# Built when the test runs: a date taken at collection is stale after midnight.
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            lambda: {
                "child_date_of_birth": str(today() - timedelta(days=1)),
                "referral_date": str(today() - timedelta(days=3)),
            },
            "child_date_of_birth",
        ),
        (lambda: {"referrer_type": "neighbour"}, "referrer_type"),
        (lambda: {"referral_date": "tomorrow"}, "referral_date"),
        (lambda: {"answers": {**ELIGIBLE, "leaving_area": "maybe"}}, "answers.leaving_area"),
        (
            lambda: {"answers": {k: v for k, v in ELIGIBLE.items() if k != "leaving_area"}},
            "answers.leaving_area",
        ),
    ],
)
def test_bad_screening_input_is_400_naming_the_field(world, api, overrides, field):
    client = api(world.coord_buc)
    before = nothing_written()
    assert_error(
        client.post("/api/v1/screening/", screening_body(world, **overrides()), format="json"),
        400,
        field,
    )
    assert nothing_written() == before


def test_a_consent_for_a_version_not_in_effect_at_the_site_is_400_naming_version(world, api):
    consent_v1(world)
    other = consent_version_create(
        trial=world.trial,
        actor=world.manager,
        channel="api",
        version="9.9",
        ethics_approval_date=world.start,
        items=["take_part"],
    )
    body = enrol_body(world, "BUC")
    body["consents"][0]["version"] = other.pk
    body["consents"][0]["answers"] = {"take_part": True}
    client = api(world.coord_buc)
    before = nothing_written()
    error = assert_error(client.post("/api/v1/families/", body, format="json"), 400, "version")
    assert "not in use at BUC" in error["message"]
    assert nothing_written() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda b: b["consents"][0].update(consent_date=str(today() + timedelta(days=1))),
            "consent_date",
        ),
        (lambda b: b["parents"][0].update(date_of_birth="2030-01-01"), "parents.0.date_of_birth"),
        (lambda b: b.update(legal_status="care_order"), "legal_status"),
        (lambda b: b["parents"][0].update(nhs_number="1234567890"), "parents.0.nhs_number"),
        (lambda b: b["consents"][0]["answers"].pop("video"), "answers.video"),
        (lambda b: b.pop("contact"), "contact"),
    ],
)
def test_bad_enrolment_input_is_4xx_naming_the_field(world, api, change, field):
    body = enrol_body(world, "BUC")
    change(body)
    client = api(world.coord_buc)
    before = nothing_written()
    assert_error(client.post("/api/v1/families/", body, format="json"), 400, field)
    assert nothing_written() == before


def test_a_consent_taken_by_someone_without_the_duty_is_400_naming_taken_by(world, api):
    family = family_at(world, "BUC")
    client = api(world.coord_buc)
    before = nothing_written()
    body = {
        "parent": 1,
        "version": consent_v1(world).pk,
        "consent_date": str(today()),
        "taken_by": world.monitor_buc.pk,
        "method": "in_person",
        "answers": dict.fromkeys(consent_v1(world).items, True),
    }
    error = assert_error(
        client.post(f"/api/v1/families/{family.pk}/consents/", body, format="json"), 400, "taken_by"
    )
    assert "Take consent" in error["message"]
    assert nothing_written() == before


def test_a_correction_without_a_reason_is_400_naming_reason(world, api):
    family = family_at(world, "BUC")
    record = family.consents.get()
    before = nothing_written()
    assert_error(
        api(world.coord_buc).post(
            f"/api/v1/families/{family.pk}/consents/{record.pk}/correct/",
            {"method": "remote"},
            format="json",
        ),
        400,
        "reason",
    )
    assert nothing_written() == before

"""Every refusal to randomise is a clear 4xx through the API and allocates nothing."""

from datetime import timedelta

import pytest

from core.clock import today
from randomisation.models import Allocation
from sites.lifecycle import site_move_status
from trial.consents import consent_version_activate, consent_version_create
from trial.enrolment import withdrawal_record

from ..access import family_at, open_screening, sealed_test_list
from ..randomisation.conftest import sealed_list
from ..trial.conftest import consent, enrol
from .test_bad_input import assert_error


def post(api, world, family):
    before = Allocation.objects.count()
    answer = api(world.coord_buc).post(f"/api/v1/families/{family.pk}/randomise/")
    assert Allocation.objects.count() == before
    return answer


def test_not_consented_on_the_current_version(world, api):
    sealed_test_list(world)
    family = family_at(world, "BUC")
    v2 = consent_version_create(
        trial=world.trial,
        actor=world.manager,
        channel="api",
        version="2.0",
        ethics_approval_date=today() - timedelta(3),
        items=["take_part"],
        reconsent_required=True,
    )
    consent_version_activate(
        version=v2, site=world.buc, effective_from=today(), actor=world.manager, channel="api"
    )
    error = assert_error(post(api, world, family), 400, "consent")
    assert "re-consent on version 2.0" in error["message"]


def test_withdrawn(world, api):
    sealed_test_list(world)
    family = family_at(world, "BUC")
    withdrawal_record(
        family=family,
        actor=world.coord_buc,
        channel="api",
        level="complete",
        withdrawal_date=family.enrolled_on,
        reason="asked to stop",
    )
    assert_error(post(api, world, family), 400, "family")


def test_site_not_active(world, api):
    sealed_test_list(world)
    family = family_at(world, "BUC")
    site_move_status(
        site=world.buc, actor=world.manager, channel="api", to_status="closed_to_recruitment"
    )
    assert "closed to recruitment" in assert_error(post(api, world, family), 400, "site")["message"]


def test_stratum_exhausted(world, api):
    from ..access import consent_v1

    sealed_list(world, length=1)
    first = family_at(world, "BUC")
    api(world.coord_buc).post(f"/api/v1/families/{first.pk}/randomise/")
    second = enrol(
        world,
        consent_v1(world),
        screening=open_screening(world, "BUC"),
        consents=[(1, consent(world, consent_v1(world)))],
    )
    error = assert_error(post(api, world, second), 409, "stratum")
    assert "used up" in error["message"] and "RECONNECT" not in error["message"]


def test_missing_factor(world, api):
    sealed_test_list(world)
    family = family_at(world, "BUC")
    type(family).objects.filter(pk=family.pk).update(legal_status="")
    assert_error(post(api, world, family), 400, "legal_status")


@pytest.mark.parametrize("who", ["assessor_buc", "monitor_buc", "pi_buc"])
def test_roles_without_the_duty_are_refused(world, api, who):
    sealed_test_list(world)
    family = family_at(world, "BUC")
    answer = api(getattr(world, who)).post(f"/api/v1/families/{family.pk}/randomise/")
    assert answer.status_code == 403 and not Allocation.objects.exists()

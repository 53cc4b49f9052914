"""An outcome assessor who learned a family's arm (they said so on the assessor's guess form,
or the site reported it) is refused that family's outcome forms from then on, on the page
and the API; another blinded assessor enters them, and the site is told one is needed,
without being told the arm."""

import pytest

from core.channels import Channel
from core.clock import today
from core.errors import NotPermitted
from core.roles import Duty, Role
from crf.entry import response_submit
from crf.preconditions import UNBLINDED_REFUSAL
from randomisation.models import Allocation
from tests.factories import DelegationFactory, MembershipFactory, UserFactory
from trial.deviations import deviation_record
from trial.models import ProtocolDeviation

from .conftest import randomised

pytestmark = pytest.mark.django_db


def core10():
    values = {"completed_on": today().isoformat()}
    values.update({f"item_{n}": 1 for n in range(1, 11)})
    return values


def guess(unblinded: bool):
    return {"completed_on": today().isoformat(), "guess": "dont_know", "unblinded": unblinded}


def another_assessor(world):
    user = UserFactory(username="assessor2.buc")
    membership = MembershipFactory(
        user=user,
        trial=world.trial,
        site=world.buc,
        role=Role.OUTCOME_ASSESSOR,
        starts_on=world.start,
    )
    DelegationFactory(membership=membership, duty=Duty.ENTER_DATA, starts_on=world.start)
    return user


def enter(family, form, values, actor, visit="month_6"):
    return response_submit(
        family=family, form=form, visit=visit, values=values, actor=actor, channel=Channel.WEB
    )


def _refused_everywhere(world, family, api, page):
    """The assessor is refused the family's outcome forms in the service, the API and the
    entry page, with the reason in words."""
    with pytest.raises(NotPermitted) as refused:
        enter(family, "core10", core10(), world.assessor_buc)
    assert refused.value.message == UNBLINDED_REFUSAL
    answer = api(world.assessor_buc).post(
        f"/api/v1/families/{family.pk}/responses/",
        {"form": "psoc", "visit": "month_6", "values": {}, "complete": False},
        format="json",
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == UNBLINDED_REFUSAL
    shown = page(world.assessor_buc).get(f"/families/{family.pk}/enter/month_6/prfq/")
    assert shown.status_code == 403


def test_an_assessor_who_learned_the_arm_is_refused_its_outcome_forms(world, api, page):
    family = randomised(world, days_ago=182)
    enter(family, "assessor_guess", guess(True), world.assessor_buc)
    assert ProtocolDeviation.objects.filter(
        family=family, kind="assessor_unblinded", person=world.assessor_buc
    ).exists()
    _refused_everywhere(world, family, api, page)
    # Another blinded assessor enters them; the coordinator still enters theirs.
    assert enter(family, "core10", core10(), another_assessor(world)).changed
    draft = response_submit(
        family=family,
        form="psoc",
        visit="month_6",
        values={},
        complete=False,
        actor=world.coord_buc,
        channel=Channel.WEB,
    )
    assert draft.changed


def test_the_other_assessor_and_other_families_are_not_refused(world):
    family = randomised(world, days_ago=182)
    enter(family, "assessor_guess", guess(False), world.assessor_buc)
    assert not ProtocolDeviation.objects.exists()
    assert enter(family, "core10", core10(), world.assessor_buc).changed


def test_a_coordinators_report_refuses_the_assessor_likewise(world, api, page):
    family = randomised(world, days_ago=182)
    deviation_record(
        family=family,
        kind="assessor_unblinded",
        severity="major",
        occurred_on=today(),
        description="The parent told the assessor at the door.",
        person=world.assessor_buc,
        actor=world.coord_buc,
        channel=Channel.WEB,
    )
    _refused_everywhere(world, family, api, page)
    assert enter(family, "core10", core10(), another_assessor(world)).changed


def test_the_site_is_told_another_assessor_is_needed_never_the_arm(world, page):
    family = randomised(world, days_ago=182)
    arm = Allocation.objects.get(family=family).arm
    casebook = f"/families/{family.pk}/casebook/"
    assert (
        "Another blinded assessor is needed"
        not in page(world.coord_buc).get(casebook).content.decode()
    )
    enter(family, "assessor_guess", guess(True), world.assessor_buc)
    for who in (world.coord_buc, world.pi_buc, world.assessor_buc):
        for url in (casebook, f"/families/{family.pk}/"):
            shown = page(who).get(url).content.decode()
            assert "Another blinded assessor is needed" in shown
    for url in (casebook, f"/families/{family.pk}/"):
        shown = page(world.assessor_buc).get(url).content.decode()
        assert arm not in shown and "Usual care" not in shown
    assert "You learned this family" in page(world.assessor_buc).get(casebook).content.decode()

"""Shared set-up for the eCRF tests: the shipped forms loaded, baseline entered, and a
family randomised some days ago (so that its follow-up windows have opened)."""

import random
from datetime import timedelta

import pytest

from core.channels import Channel
from core.clock import today
from crf.entry import response_submit
from crf.loading import forms_load, shipped_spec_files
from crf.selectors import current_definitions, schedule_of
from demo.answers import answers_for
from randomisation.models import Allocation
from randomisation.services import family_randomise
from tests.access import family_at, sealed_test_list


def load_forms(world):
    if not hasattr(world, "_forms"):
        forms_load(
            trial=world.trial,
            paths=shipped_spec_files(),
            actor=world.manager,
            channel=Channel.COMMAND,
        )
        world._forms = current_definitions(world.trial)
    return world._forms


@pytest.fixture
def forms(world):
    return load_forms(world)


def enter(world, family, form, visit, *, actor=None, on=None, complete=True, **changes):
    """Enter a whole valid form; `changes` override answers (None removes one)."""
    definition = load_forms(world)[form]
    fixed = {k: v for k, v in changes.items() if v is not None}
    values = answers_for(definition.spec, on or today(), random.Random(family.pk), fixed=fixed)
    for key in [k for k, v in changes.items() if v is None]:
        values.pop(key, None)
    actor = actor or (world.coord_buc if family.site == world.buc else world.coord_oxf)
    if form == "sae" and not visit:
        return _reported(family, values, actor)
    return response_submit(
        family=family,
        form=form,
        visit=visit,
        values=values,
        actor=actor,
        channel=Channel.COMMAND,
        complete=complete,
    ).response


def _reported(family, values, actor):
    """The safety form is entered only as a safety event's report (its clock starts)."""
    from django.utils import timezone

    from safety.services import sae_report

    aware = timezone.localtime(timezone.now() - timedelta(minutes=1))
    values = {**values, "reported_on": aware.date().isoformat()}
    if values.get("event_date", "") > values["reported_on"]:
        values["event_date"] = values["reported_on"]
    return sae_report(
        family=family,
        values=values,
        aware_time=f"{aware:%H:%M}",
        actor=actor,
        channel=Channel.COMMAND,
        referral_to="Children's services" if values.get("safeguarding_referral") else "",
        referral_on=aware.date() if values.get("safeguarding_referral") else None,
    ).response


def assessor_at(world, site):
    """The site's blinded assessor (OXF's is made when first needed)."""
    if site == world.buc:
        return world.assessor_buc
    if not hasattr(world, "_assessor_oxf"):
        from core.roles import Duty, Role
        from tests.factories import DelegationFactory, MembershipFactory, UserFactory

        user = UserFactory(username="assessor.oxf")
        membership = MembershipFactory(
            user=user,
            trial=world.trial,
            site=site,
            role=Role.OUTCOME_ASSESSOR,
            starts_on=world.start,
        )
        DelegationFactory(membership=membership, duty=Duty.ENTER_DATA, starts_on=world.start)
        world._assessor_oxf = user
    return world._assessor_oxf


def enter_baseline(world, family, *, on=None):
    baseline = schedule_of(world.trial).baseline
    for form in baseline.forms:
        actor = assessor_at(world, family.site) if form == "care_index" else None
        enter(world, family, form, baseline.key, actor=actor, on=on)


def randomised(world, code="BUC", *, days_ago=0, family=None):
    """An enrolled family (the site's first, unless one is given) with baseline complete,
    randomised `days_ago` days ago."""
    load_forms(world)
    family = family or family_at(world, code)
    enter_baseline(world, family)
    sealed_test_list(world)
    coordinator = world.coord_buc if code == "BUC" else world.coord_oxf
    allocation = family_randomise(family=family, actor=coordinator, channel=Channel.COMMAND)
    if days_ago:
        Allocation.objects.filter(pk=allocation.pk).update(
            randomised_at=allocation.randomised_at - timedelta(days=days_ago)
        )
    family.refresh_from_db()
    return family

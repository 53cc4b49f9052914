from datetime import date, timedelta

import pytest

from core.channels import Channel
from core.clock import today
from trial.consents import ConsentIn, consent_version_activate, consent_version_create
from trial.enrolment import ContactIn, PersonIn, family_enrol
from trial.screening import screening_record

ITEMS = ["take_part", "video", "records", "inform_gp", "future_research"]
ALL_YES = dict.fromkeys(ITEMS, True)
ELIGIBLE = {
    "known_to_social_care": True,
    "cp_plan_or_pre_proceedings": True,
    "parent_has_capacity": True,
    "final_order_made": False,
    "leaving_area": False,
}
NHS_PARENT = "9434765919"  # a valid NHS number (check digit 9)
NHS_CHILD = "9434765870"


@pytest.fixture
def v1(world):
    version = consent_version_create(
        trial=world.trial,
        actor=world.manager,
        channel=Channel.API,
        version="1.0",
        ethics_approval_date=world.start,
        items=ITEMS,
    )
    for site in (world.buc, world.oxf):
        consent_version_activate(
            version=version,
            site=site,
            effective_from=world.start,
            actor=world.manager,
            channel=Channel.API,
        )
    return version


def screen(world, site=None, actor=None, **overrides):
    fields = dict(
        referral_date=today() - timedelta(days=10),
        referrer_type="social_worker",
        child_date_of_birth=today() - timedelta(days=120),
        answers=dict(ELIGIBLE),
    )
    fields.update(overrides)
    return screening_record(
        site=site or world.buc, actor=actor or world.coord_buc, channel=Channel.WEB, **fields
    )


def consent(world, version, **overrides):
    fields = dict(
        version=version,
        consent_date=today() - timedelta(days=2),
        taken_by=world.coord_buc,
        method="in_person",
        answers=dict(ALL_YES),
    )
    fields.update(overrides)
    return ConsentIn(**fields)


def parent(**overrides):
    fields = dict(
        given_name="Jade",
        family_name="Morgan",
        date_of_birth=date(1999, 4, 3),
        nhs_number=NHS_PARENT,
        relationship="mother",
        parental_responsibility=True,
    )
    fields.update(overrides)
    return PersonIn(**fields)


def enrol(world, version, screening=None, consents=None, parents=None, **overrides):
    fields = dict(
        screening=screening or screen(world),
        actor=world.coord_buc,
        channel=Channel.WEB,
        legal_status="cp_plan",
        child=PersonIn(given_name="Ava", family_name="Morgan", nhs_number=NHS_CHILD),
        parents=parents if parents is not None else [parent()],
        contact=ContactIn(
            address="12 Mill Lane, Aylesbury HP20 1AA",
            phone="07700 900123",
            social_worker_name="Sam Reid",
            social_worker_contact="01296 000000",
        ),
        consents=consents if consents is not None else [(1, consent(world, version))],
    )
    fields.update(overrides)
    return family_enrol(**fields)

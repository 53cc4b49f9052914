from datetime import timedelta

import pytest

from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.errors import TrialError
from sites.memberships import delegation_end
from trial.consents import (
    consent_correct,
    consent_record,
    consent_version_activate,
    consent_version_create,
)
from trial.models import ConsentRecord, Family

from .conftest import ALL_YES, ITEMS, consent, enrol, parent


def counts():
    # The screening each attempt starts from is set-up, not part of what is refused.
    return (
        Family.objects.count(),
        ConsentRecord.objects.count(),
        AuditEvent.objects.exclude(event_type="screened").count(),
    )


def refused(fn) -> TrialError:
    before = counts()
    with pytest.raises(TrialError) as error:
        fn()
    assert counts() == before
    return error.value


def test_enrolment_records_the_consent_with_an_answer_per_item(world, v1):
    family = enrol(world, v1)
    record = family.consents.get()
    assert record.answers == ALL_YES and record.taken_by == world.coord_buc
    assert record.version == v1 and record.participant.number == 1


def second_version(world, site, *, effective_from):
    """Version 2.0, approved a month ago, in use at one site from the given date."""
    version = consent_version_create(
        trial=world.trial,
        actor=world.manager,
        channel=Channel.API,
        version="2.0",
        ethics_approval_date=today() - timedelta(30),
        items=ITEMS,
    )
    consent_version_activate(
        version=version,
        site=site,
        effective_from=effective_from,
        actor=world.manager,
        channel=Channel.API,
    )
    return version


def test_a_consent_dated_in_the_future_is_refused(world, v1):
    error = refused(
        lambda: enrol(
            world, v1, consents=[(1, consent(world, v1, consent_date=today() + timedelta(days=1)))]
        )
    )
    assert error.field == "consent_date" and "future" in error.message


def test_a_consent_before_the_versions_effective_date_at_the_site_is_refused(world, v1):
    v2 = second_version(world, world.buc, effective_from=today() - timedelta(days=1))
    error = refused(
        lambda: enrol(
            world, v2, consents=[(1, consent(world, v2, consent_date=today() - timedelta(days=2)))]
        )
    )
    assert error.field == "version" and "takes effect at BUC only from" in error.message


def test_a_version_not_in_use_at_the_site_is_refused(world, v1):
    v2 = second_version(world, world.oxf, effective_from=today() - timedelta(days=9))
    error = refused(lambda: enrol(world, v2, consents=[(1, consent(world, v2))]))
    assert error.field == "version" and "not in use at BUC" in error.message


def test_a_superseded_version_is_refused(world, v1):
    second_version(world, world.buc, effective_from=today() - timedelta(days=5))
    error = refused(lambda: enrol(world, v1, consents=[(1, consent(world, v1))]))
    assert error.field == "version" and "replaced at BUC by version 2.0" in error.message


def test_consent_taken_by_someone_without_the_duty_is_refused(world, v1):
    error = refused(
        lambda: enrol(world, v1, consents=[(1, consent(world, v1, taken_by=world.assessor_buc))])
    )
    assert error.field == "taken_by" and "Take consent" in error.message


def test_the_duty_is_judged_on_the_consent_date(world, v1):
    duty = world.memberships[("coord.buc", "BUC")].delegations.get(duty="take_consent")
    delegation_end(
        delegation=duty,
        actor=world.manager,
        channel=Channel.WEB,
        ends_on=today() - timedelta(days=5),
    )
    error = refused(lambda: enrol(world, v1))  # consent dated 2 days ago
    assert error.field == "taken_by"
    family = enrol(
        world, v1, consents=[(1, consent(world, v1, consent_date=today() - timedelta(6)))]
    )
    assert family.consents.get().consent_date == today() - timedelta(6)


def test_an_unanswered_item_is_refused(world, v1):
    answers = {k: v for k, v in ALL_YES.items() if k != "video"}
    error = refused(lambda: enrol(world, v1, consents=[(1, consent(world, v1, answers=answers))]))
    assert error.field == "answers.video"


def test_enrolment_needs_take_part_from_a_parent_with_parental_responsibility(world, v1):
    error = refused(lambda: enrol(world, v1, parents=[parent(parental_responsibility=False)]))
    assert error.field == "consents"
    error = refused(
        lambda: enrol(
            world, v1, consents=[(1, consent(world, v1, answers={**ALL_YES, "take_part": False}))]
        )
    )
    assert error.field == "consents"


def test_a_second_parent_consents_later(world, v1):
    family = enrol(
        world,
        v1,
        parents=[
            parent(),
            parent(given_name="Liam", relationship="father", parental_responsibility=False),
        ],
    )
    second = family.participants.get(role="parent", number=2)
    consent_record(
        family=family,
        parent=second,
        actor=world.coord_buc,
        channel=Channel.API,
        given=consent(world, v1, answers={**ALL_YES, "video": False}),
    )
    assert family.consents.count() == 2


@pytest.mark.requirement("AUD-1", "AUD-3")
def test_a_correction_needs_a_reason_and_keeps_the_old_value_in_the_ledger(world, v1):
    record = enrol(world, v1).consents.get()
    error = refused(
        lambda: consent_correct(
            consent=record,
            actor=world.coord_buc,
            channel=Channel.WEB,
            reason="",
            answers={**ALL_YES, "inform_gp": False},
        )
    )
    assert error.field == "reason"
    consent_correct(
        consent=record,
        actor=world.coord_buc,
        channel=Channel.WEB,
        reason="GP item ticked in error",
        answers={**ALL_YES, "inform_gp": False},
    )
    event = AuditEvent.objects.filter(event_type="consent_corrected").get()
    assert event.changes["answers"][0]["inform_gp"] is True
    assert event.changes["answers"][1]["inform_gp"] is False
    assert (event.reason, event.edit_after) == ("GP item ticked in error", "completed")


def test_a_correction_is_validated_like_a_new_consent(world, v1):
    record = enrol(world, v1).consents.get()
    error = refused(
        lambda: consent_correct(
            consent=record,
            actor=world.coord_buc,
            channel=Channel.WEB,
            reason="date",
            consent_date=today() + timedelta(days=3),
        )
    )
    assert error.field == "consent_date"


def test_a_version_must_ask_the_required_items(world):
    error = refused(
        lambda: consent_version_create(
            trial=world.trial,
            actor=world.manager,
            channel=Channel.API,
            version="9",
            ethics_approval_date=today(),
            items=["video"],
        )
    )
    assert error.field == "items" and "take_part" in error.message

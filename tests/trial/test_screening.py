from datetime import timedelta

import pytest

from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from trial.identifiers import is_valid_identifier
from trial.models import ScreeningRecord
from trial.screening import screening_close

from .conftest import ELIGIBLE, screen


def test_an_eligible_referral_gets_its_own_checked_identifier(world):
    record = screen(world)
    assert record.identifier == record.identifier.upper() and is_valid_identifier(record.identifier)
    assert record.identifier.startswith("RC-S-BUC-0001-")
    assert (record.eligible, record.outcome, record.age_band) == (True, "eligible", "under_6m")
    assert screen(world).identifier.startswith("RC-S-BUC-0002-")


def test_a_not_eligible_referral_names_the_criterion_and_is_closed(world):
    record = screen(world, answers={**ELIGIBLE, "leaving_area": True})
    assert (record.outcome, record.failed_criterion) == ("not_eligible", "leaving_area")


@pytest.mark.requirement("IDN-1")
def test_the_ledger_holds_no_date_of_birth(world):
    record = screen(world)
    event = AuditEvent.objects.get(event_type="screened")
    dob = record.child_date_of_birth.isoformat()
    assert dob not in str(event.changes) and event.changes["age_band"] == [None, "under_6m"]


# Each case is built when the test runs, not when it is collected: a date taken at
# collection is yesterday's for a run that passes midnight.
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            lambda: {"child_date_of_birth": today() + timedelta(days=1), "referral_date": today()},
            "child_date_of_birth",
        ),
        (lambda: {"referrer_type": "neighbour"}, "referrer_type"),
        (lambda: {"referral_date": today() + timedelta(days=1)}, "referral_date"),
        (lambda: {"child_date_of_birth": None}, "child_date_of_birth"),
        (lambda: {"answers": {**ELIGIBLE, "unknown": True}}, "answers.unknown"),
        (
            lambda: {"answers": {k: v for k, v in ELIGIBLE.items() if k != "leaving_area"}},
            "answers.leaving_area",
        ),
        (lambda: {"interpreter_needed": True}, "interpreter_language"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(world, overrides, field):
    before = (ScreeningRecord.objects.count(), AuditEvent.objects.count())
    with pytest.raises(TrialError) as refused:
        screen(world, **overrides())
    assert refused.value.field == field
    assert (ScreeningRecord.objects.count(), AuditEvent.objects.count()) == before


def test_a_site_that_is_not_active_takes_no_referrals(world):
    from sites.memberships import membership_grant

    membership_grant(
        actor=world.manager,
        channel=Channel.WEB,
        user=world.coord_buc,
        trial=world.trial,
        role="site_coordinator",
        site=world.mkn,
    )
    with pytest.raises(TrialError) as refused:
        screen(world, site=world.mkn)
    assert refused.value.field == "site" and "MKN is proposed" in refused.value.message


@pytest.mark.parametrize("who", ["coord_oxf", "monitor_buc", "assessor_buc", "manager"])
def test_only_the_sites_coordinators_screen(world, who):
    with pytest.raises(NotPermitted):
        screen(world, actor=getattr(world, who))


def test_needing_an_interpreter_never_excludes(world):
    record = screen(world, interpreter_needed=True, interpreter_language="Polish")
    assert record.eligible


def test_a_declined_referral_keeps_its_coded_reason(world):
    record = screening_close(
        screening=screen(world),
        actor=world.coord_buc,
        channel=Channel.WEB,
        outcome="declined",
        reason="no_time",
    )
    assert (record.outcome, record.outcome_reason) == ("declined", "no_time")
    with pytest.raises(Conflict):
        screening_close(
            screening=record,
            actor=world.coord_buc,
            channel=Channel.WEB,
            outcome="other",
            reason="not_contactable",
        )


@pytest.mark.parametrize(
    ("outcome", "reason", "note", "field"),
    [
        ("declined", "not_contactable", "", "reason"),
        ("other", "other", "", "note"),
        ("enrolled", "no_time", "", "outcome"),
    ],
)
def test_closing_needs_a_known_reason(world, outcome, reason, note, field):
    record = screen(world)
    with pytest.raises(TrialError) as refused:
        screening_close(
            screening=record,
            actor=world.coord_buc,
            channel=Channel.WEB,
            outcome=outcome,
            reason=reason,
            note=note,
        )
    assert refused.value.field == field

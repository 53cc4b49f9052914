"""The safety workflow through its services: the report on the 24-hour clock, the PI's
signed assessment at their own site, the chief investigator's review and the ethics
committee's 15 days, follow-ups to an outcome, reminders, and the emails (recipients, no
identity, no arm, nothing about relatedness)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from crf.models import Response
from safety.models import SafetyEvent, SafetyReminder, SafetyStatus
from safety.reminders import safety_due_remind
from safety.selectors import (
    safety_events_visible_to,
    safety_filter,
    safety_listing,
    steps_of,
)
from safety.services import sae_assess, sae_follow_up, sae_rec_report, sae_review
from tests.access import family_at
from tests.factories import PASSWORD

from .conftest import report

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def family(world):
    return family_at(world, "BUC")


def assess(world, event, *, relatedness="unrelated", expectedness="expected", password=None):
    return sae_assess(
        event=event,
        seriousness=["hospitalisation"],
        relatedness=relatedness,
        expectedness=expectedness,
        password=PASSWORD if password is None else password,
        actor=world.pi_buc,
        channel=Channel.WEB,
    )


def test_a_report_23_h_59_min_after_awareness_is_on_time(world, family):
    event = report(world, family, ago=timedelta(hours=23, minutes=59))
    steps = {s.step: s for s in steps_of(event, timezone.now())}
    assert steps["report"].late is False
    assert event.late_reason == ""
    assert event.status == SafetyStatus.REPORTED


def test_a_report_24_h_1_min_after_awareness_is_late_and_must_say_why(world, family):
    with pytest.raises(TrialError) as refused:
        report(world, family, ago=timedelta(hours=24, minutes=1))
    assert refused.value.field == "late_reason"
    assert not SafetyEvent.objects.exists()
    assert not Response.objects.filter(form="sae").exists()  # nothing half-written
    event = report(
        world, family, ago=timedelta(hours=24, minutes=1), late_reason="Told at the weekend."
    )
    steps = {s.step: s for s in steps_of(event, timezone.now())}
    assert steps["report"].late is True
    assert event.late_reason == "Told at the weekend."


def test_the_report_emails_the_pi_the_chief_investigator_and_the_trial_manager(
    world, family, django_capture_on_commit_callbacks
):
    world.coord_buc.email, world.pi_buc.email = "coord@example.org", "pi@example.org"
    world.chief.email, world.manager.email = "chief@example.org", "manager@example.org"
    world.pi_oxf.email, world.assessor_buc.email = "pi.oxf@example.org", "assessor@example.org"
    for user in (world.coord_buc, world.pi_buc, world.chief, world.manager, world.pi_oxf):
        user.save()
    world.assessor_buc.save()
    with django_capture_on_commit_callbacks(execute=True):
        event = report(
            world,
            family,
            relatedness="probable",
            expectedness="unexpected",
            description="Ava Morgan was admitted.",
        )
    # One email per recipient, each sent by itself.
    assert sorted(m.to for m in mail.outbox) == [
        ["chief@example.org"],
        ["manager@example.org"],
        ["pi@example.org"],
    ]
    sent = mail.outbox[0]
    # The trial's own name is ReConnect too: what follows it is what must not tell the arm.
    text = (sent.subject + sent.body).replace(f"[{family.trial.short_name}]", "")
    assert family.identifier in text
    assert f"/safety/{event.pk}/" in sent.body
    # Never identity, the description, the arm, or anything from which the arm follows.
    names = [p.identity.given_name for p in family.participants.all()] + [
        p.identity.family_name for p in family.participants.all()
    ]
    for secret in [*names, "Ava", "Morgan"]:
        assert secret not in text
    for revealing in ("probable", "Probable", "unexpected", "ReConnect", "RECONNECT", "Usual"):
        assert revealing not in text
    assert AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_SENT).count() == 3


def test_the_pi_assesses_with_their_password_and_the_assessment_is_the_forms(world, family):
    event = report(world, family)
    done = assess(world, event, relatedness="possible", expectedness="unexpected")
    assert done.status == SafetyStatus.ASSESSED
    assert done.assessed_by == world.pi_buc
    response = Response.objects.get(pk=event.response_id)
    assert response.values["relatedness"] == "possible"
    assert response.values["expectedness"] == "unexpected"
    assert done.reportable is True
    aware_day = timezone.localdate(done.reported_at)
    assert done.rec_due_on == aware_day + timedelta(days=15)
    logged = AuditEvent.objects.filter(event_type=EventType.SAE_ASSESSED).get()
    assert logged.changes["relatedness"] == ["unrelated", "possible"]


def test_an_assessment_without_its_signature_is_refused_and_a_wrong_password_recorded(
    world, family
):
    event = report(world, family)
    with pytest.raises(TrialError) as refused:
        assess(world, event, password="")
    assert refused.value.field == "password"
    with pytest.raises(TrialError) as refused:
        assess(world, event, password="not-the-password")
    assert refused.value.field == "password"
    event.refresh_from_db()
    assert event.status == SafetyStatus.REPORTED and event.assessed_at is None
    assert AuditEvent.objects.filter(event_type=EventType.SAE_ASSESSMENT_REFUSED).count() == 1


def test_a_pi_of_another_site_or_a_coordinator_may_not_assess(world, family):
    event = report(world, family)
    for actor in (world.pi_oxf, world.coord_buc, world.chief):
        with pytest.raises(NotPermitted):
            sae_assess(
                event=event,
                seriousness=[],
                relatedness="unrelated",
                expectedness="expected",
                password=PASSWORD,
                actor=actor,
                channel=Channel.WEB,
            )
    event.refresh_from_db()
    assert event.status == SafetyStatus.REPORTED


def test_the_chief_investigator_reviews_and_may_not_downgrade_the_pi(world, family):
    event = report(world, family)
    assess(world, event, relatedness="probable", expectedness="expected")
    with pytest.raises(TrialError) as refused:
        sae_review(
            event=event,
            relatedness="unlikely",
            expectedness="expected",
            note="Disagree.",
            actor=world.chief,
            channel=Channel.WEB,
        )
    assert refused.value.field == "relatedness"
    with pytest.raises(NotPermitted):
        sae_review(
            event=event,
            relatedness="probable",
            expectedness="unexpected",
            note="x",
            actor=world.manager,
            channel=Channel.WEB,
        )
    done = sae_review(
        event=event,
        relatedness="probable",
        expectedness="unexpected",
        note="Not in the protocol's list of expected events.",
        actor=world.chief,
        channel=Channel.WEB,
    )
    assert done.status == SafetyStatus.REVIEWED
    # The chief investigator's "unexpected" makes a related event reportable.
    assert done.reportable is True
    assert done.rec_due_on is not None


def test_the_ethics_committee_report_on_day_15_is_on_time_and_day_16_late(world, family):
    event = report(world, family)
    assess(world, event, relatedness="definite", expectedness="unexpected")
    event.refresh_from_db()
    aware_day = timezone.localdate(event.reported_at)
    assert event.rec_due_on == aware_day + timedelta(days=15)
    # Not yet reported, day 16: the step is overdue and counted.
    later = timezone.now() + timedelta(days=16)
    rec = {s.step: s for s in steps_of(event, later)}["rec"]
    assert rec.late and rec.open
    on_day_15 = timezone.now() + timedelta(days=15)
    assert not {s.step: s for s in steps_of(event, on_day_15)}["rec"].late
    with pytest.raises(NotPermitted):
        sae_rec_report(
            event=event,
            reported_on=aware_day,
            reference="REC/1",
            actor=world.pi_buc,
            channel=Channel.WEB,
        )
    done = sae_rec_report(
        event=event,
        reported_on=aware_day,
        reference="REC/1",
        actor=world.chief,
        channel=Channel.WEB,
    )
    assert done.rec_reported_on == aware_day
    with pytest.raises(Conflict):
        sae_rec_report(
            event=event,
            reported_on=aware_day,
            reference="REC/2",
            actor=world.chief,
            channel=Channel.WEB,
        )


def test_an_event_not_related_and_unexpected_is_not_reported_to_the_committee(world, family):
    event = report(world, family)
    assess(world, event, relatedness="unlikely", expectedness="unexpected")
    with pytest.raises(Conflict):
        sae_rec_report(
            event=event,
            reported_on=timezone.localdate(),
            reference="REC/1",
            actor=world.chief,
            channel=Channel.WEB,
        )


def test_follow_ups_until_a_final_outcome_close_the_event(world, family):
    event = report(world, family)
    sae_follow_up(
        event=event,
        outcome="resolving",
        note="Home again.",
        actor=world.coord_buc,
        channel=Channel.WEB,
    )
    event.refresh_from_db()
    assert event.status == SafetyStatus.REPORTED
    assert Response.objects.get(pk=event.response_id).values["outcome"] == "resolving"
    with pytest.raises(TrialError) as refused:
        sae_follow_up(
            event=event, outcome="better", note="x", actor=world.coord_buc, channel=Channel.WEB
        )
    assert refused.value.field == "outcome"
    with pytest.raises(NotPermitted):
        sae_follow_up(
            event=event, outcome="resolved", note="x", actor=world.coord_oxf, channel=Channel.WEB
        )
    sae_follow_up(
        event=event,
        outcome="resolved",
        note="Recovered.",
        actor=world.pi_buc,
        channel=Channel.WEB,
    )
    event.refresh_from_db()
    assert event.status == SafetyStatus.CLOSED
    assert event.follow_ups.count() == 2
    with pytest.raises(Conflict):
        sae_follow_up(
            event=event, outcome="resolved", note="x", actor=world.pi_buc, channel=Channel.WEB
        )


def test_a_safeguarding_incident_records_its_referral(world, family):
    with pytest.raises(TrialError) as refused:
        report(world, family, kind="safeguarding", safeguarding_referral=True)
    assert set(refused.value.fields) == {"referral_to", "referral_on"}
    event = report(
        world,
        family,
        kind="safeguarding",
        safeguarding_referral=True,
        referral_to="Buckinghamshire children's services",
        referral_on=timezone.localdate(),
    )
    assert event.kind == "safeguarding"
    assert event.referral_to == "Buckinghamshire children's services"


def test_reminders_go_to_the_pi_and_chief_investigator_once_a_day(
    world, family, django_capture_on_commit_callbacks
):
    world.pi_buc.email, world.chief.email = "pi@example.org", "chief@example.org"
    world.manager.email = "manager@example.org"
    for user in (world.pi_buc, world.chief, world.manager):
        user.save()
    report(world, family, ago=timedelta(hours=30), late_reason="Weekend.")  # assessment overdue
    report(world, family, ago=timedelta(hours=1))  # due in 23 hours: not yet reminded
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = safety_due_remind()
    assert sent == 2  # one email per recipient, for the one overdue step
    assert sorted(m.to for m in mail.outbox) == [["chief@example.org"], ["pi@example.org"]]
    assert "Overdue" in mail.outbox[0].subject
    assert "assessment" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        assert safety_due_remind() == 0  # once a day
    assert SafetyReminder.objects.count() == 1


def test_listings_are_scoped_and_relatedness_is_refused_to_the_blinded(world, family):
    event = report(world, family)
    other = report(world, family_at(world, "OXF"), actor=world.coord_oxf)
    assert set(safety_events_visible_to(world.coord_buc)) == {event}
    assert set(safety_events_visible_to(world.chief)) == {event, other}
    assert set(safety_events_visible_to(world.assessor_buc)) == set()
    assert set(safety_events_visible_to(world.stats_blind)) == set()
    with pytest.raises(NotPermitted):
        safety_filter({"relatedness": "possible"}, world.assessor_buc)
    with pytest.raises(TrialError) as refused:
        safety_filter({"seriousness": "death-ish"}, world.chief)
    assert refused.value.field == "seriousness"
    overdue_only = safety_filter({"overdue": "yes"}, world.chief)
    assert safety_listing(world.chief, overdue_only) == []
    rows = safety_listing(world.chief, safety_filter({"site": "OXF"}, world.chief))
    assert [r.event for r in rows] == [other]

"""The demo's safety events, deviations and unblinded assessor, as seed_demo leaves them:
every SAE it shows is a safety event, the events stand at every stage of the workflow (one
overdue), the deviation log holds several kinds, and one assessor learned one family's arm."""

import pytest
from django.utils import timezone

from core.clock import today
from crf.models import Response
from crf.preconditions import learned_arm
from demo.seed import seed
from safety.models import SafetyEvent, SafetyStatus
from safety.selectors import steps_of
from trial.models import ProtocolDeviation


@pytest.fixture
def demo(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed(log=lambda *_: None)


def test_the_demo_safety_events_deviations_and_unblinded_assessor(demo):
    now = timezone.now()
    events = list(SafetyEvent.objects.select_related("response", "family__site"))
    # Every SAE form in the demo belongs to a safety event.
    assert Response.objects.filter(form="sae").count() == len(events) >= 5
    by_status = {s: [e for e in events if e.status == s] for s in SafetyStatus.values}
    assert all(by_status.values()), {s: len(v) for s, v in by_status.items()}

    # Waiting for the PI, and overdue: aware more than 24 hours ago, the report on time.
    (waiting,) = by_status[SafetyStatus.REPORTED]
    assert (now - waiting.aware_at).total_seconds() > 24 * 3600
    steps = {s.step: s for s in steps_of(waiting, now)}
    assert not steps["report"].late
    assert steps["assess"].late and steps["assess"].open

    # Assessed by the PI, waiting for the chief investigator.
    assert all(e.assessed_by and not e.reviewed_at for e in by_status[SafetyStatus.ASSESSED])

    # Reviewed, related and unexpected, its ethics committee report due and not yet late.
    due = [e for e in by_status[SafetyStatus.REVIEWED] if e.reportable and not e.rec_reported_on]
    assert due and all(e.rec_due_on >= today() for e in due)

    # Closed with a final outcome; one reported to the ethics committee in time.
    closed = by_status[SafetyStatus.CLOSED]
    assert all(e.response.values["outcome"] in ("resolved", "fatal") for e in closed)
    assert all(e.closed_at <= now and e.follow_ups.exists() for e in closed)
    assert any(e.rec_reported_on and e.rec_reported_on <= e.rec_due_on for e in closed)

    # A safeguarding incident with its referral: to whom, and when.
    referred = [e for e in events if e.kind == "safeguarding" and e.referral_to]
    assert referred and all(e.referral_on for e in referred)

    # Every step is dated when it was done: in order, none in the future, none late but one.
    for e in events:
        done = [e.aware_at, e.reported_at, e.assessed_at, e.reviewed_at, e.closed_at]
        done = [d for d in done if d is not None]
        assert done == sorted(done) and done[-1] <= now, e
        assert not e.late_reason
        late = [s.step for s in steps_of(e, now) if s.late]
        assert late == (["assess"] if e == waiting else []), (e, late)

    kinds = set(ProtocolDeviation.objects.values_list("kind", flat=True))
    assert kinds >= {
        "eligibility",
        "consent",
        "stratification_error",
        "contamination",
        "out_of_window",
        "assessor_unblinded",
    }
    (unblinded,) = ProtocolDeviation.objects.filter(kind="assessor_unblinded")
    assert unblinded.person.username == "assessor.buc"
    assert unblinded.source == "assessor_guess"
    assert learned_arm(unblinded.person, unblinded.family)

"""The safety workflow's steps: the site's report, the PI's assessment (signed with their
password), the chief investigator's review, follow-up reports until an outcome, and the
ethics committee report. Each step checks the actor's role where the event happened, is
dated and attributed, and is written to the ledger with the change it made."""

from datetime import date, datetime, time
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.events import Concealed, EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError
from core.roles import Role
from crf.entry import response_change, response_enter
from outbox.services import enqueue
from sites.permissions import require_role
from trial.config import config_of
from trial.models import Family

from . import clock
from .models import SafetyEvent, SafetyFollowUp, SafetyStatus
from .tasks import notify_sae_reported

ASSESSMENT_FIELDS = ("seriousness", "relatedness", "expectedness")
ASSESSMENT_MEANING = (
    "As the site's principal investigator I have assessed this event's seriousness, its "
    "relatedness to the intervention and its expectedness."
)


def safety_form(family: Family):
    """The trial's safety section (form, outcome field, final outcomes), or a refusal."""
    safety = config_of(family.trial).monitoring.safety
    if safety is None:
        raise TrialError("This trial records no safety events.", field="family")
    return safety


def _aware_at(values: dict[str, Any], aware_time: str) -> datetime:
    """When the site became aware: the form's date of learning, at the time given (the
    trial's calendar, Europe/London)."""
    errors = {}
    try:
        on = date.fromisoformat(str(values.get("reported_on") or ""))
    except ValueError:
        on = None
        errors["reported_on"] = "Give the date the site learned of the event."
    try:
        at = time.fromisoformat(aware_time.strip()) if aware_time.strip() else None
    except ValueError:
        at = None
    if at is None:
        errors["aware_time"] = "Give the time the site learned of it, as HH:MM."
    if errors:
        raise TrialError(next(iter(errors.values())), fields=errors)
    aware = timezone.make_aware(datetime.combine(on, at.replace(second=0, microsecond=0)))
    if aware > timezone.now():
        raise TrialError("The site cannot have learned of it in the future.", field="aware_time")
    return aware


def _referral(values: dict[str, Any], referral_to: str, referral_on: date | None) -> None:
    """Whom and when, required when the form says a safeguarding referral was made (the
    answer as the form's checks read it: True from the API, "yes" from a page)."""
    if values.get("safeguarding_referral") not in (True, "yes"):
        if referral_to.strip() or referral_on:
            raise TrialError(
                "No safeguarding referral is recorded: leave whom and when blank, or answer "
                "that a referral was made.",
                field="referral_to",
            )
        return
    errors = {}
    if not referral_to.strip():
        errors["referral_to"] = "Say to whom the safeguarding referral was made."
    if referral_on is None:
        errors["referral_on"] = "Give the date of the safeguarding referral."
    elif referral_on > today():
        errors["referral_on"] = "The referral cannot be dated in the future."
    if errors:
        raise TrialError(next(iter(errors.values())), fields=errors)


def _event_for_update(event: SafetyEvent) -> SafetyEvent:
    return (
        SafetyEvent.objects.select_for_update(of=("self",))
        .select_related("family__site", "family__trial", "response__definition")
        .get(pk=event.pk)
    )


def _record(event: SafetyEvent, kind: EventType, actor, channel, held, changes, reason=""):
    record(
        event=kind,
        actor=actor,
        channel=channel,
        obj=event,
        site=event.family.site,
        family=event.family.identifier,
        changes=changes,
        reason=reason,
        # What the event is about (a form that reveals the arm) is hidden from readers
        # blinded at the site, as the form itself is.
        conceal=Concealed.EVENT,
        actor_role=held,
    )


@transaction.atomic(durable=True)
def sae_report(
    *,
    family: Family,
    values: dict[str, Any],
    aware_time: str,
    actor,
    channel: Channel,
    referral_to: str = "",
    referral_on: date | None = None,
    late_reason: str = "",
) -> SafetyEvent:
    """The site's initial report: the safety form's answers, and the time the site became
    aware (the 24-hour clock runs from it). Reported late, it needs the reason. The PI,
    the chief investigator and the trial manager are emailed once it is saved."""
    safety = safety_form(family)
    held = require_role(
        actor, roles={Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR}, site=family.site
    )
    aware_at = _aware_at(values, aware_time)
    _referral(values, referral_to, referral_on)
    now = timezone.now()
    late = not clock.on_time(now, clock.site_report_due(aware_at))
    late_reason = late_reason.strip()
    if late and not late_reason:
        raise TrialError(
            "This is more than 24 hours after the site became aware: say why it is late.",
            field="late_reason",
        )
    saved = response_enter(
        family=family,
        form=safety.form,
        visit="",
        values=values,
        actor=actor,
        channel=channel,
        safety_event=True,
    )
    response = saved.response
    event = SafetyEvent(
        family=response.family,
        response=response,
        kind=str(response.values.get("kind", "")),
        aware_at=aware_at,
        reported_at=now,
        reported_by=actor,
        late_reason=late_reason if late else "",
        referral_to=referral_to.strip(),
        referral_on=referral_on,
    )
    stamp(event, actor=actor).save()
    _record(
        event,
        EventType.SAE_REPORTED,
        actor,
        channel,
        held,
        {
            "kind": [None, event.kind],
            "aware_at": [None, aware_at.isoformat()],
            "response": [None, response.pk],
            "late": [None, late],
        },
        reason=event.late_reason,
    )
    # The PI, the chief investigator and the trial manager are emailed once it is committed.
    event_id = event.pk
    enqueue(notify_sae_reported, event_id)
    return event


def _refused(*, event: SafetyEvent, actor, channel: Channel, held) -> None:
    with transaction.atomic(durable=True):
        record(
            event=EventType.SAE_ASSESSMENT_REFUSED,
            actor=actor,
            channel=channel,
            site=event.family.site,
            family=event.family.identifier,
            reason="the password did not match",
            conceal=Concealed.EVENT,
            actor_role=held,
        )


def sae_assess(
    *,
    event: SafetyEvent,
    seriousness: list[str],
    relatedness: str,
    expectedness: str,
    password: str,
    actor,
    channel: Channel,
) -> SafetyEvent:
    """The principal investigator's assessment at the event's own site, signed by
    re-entering their password (a wrong one is refused, and the refusal recorded)."""
    held = require_role(actor, roles={Role.PRINCIPAL_INVESTIGATOR}, site=event.family.site)
    if not password:
        raise TrialError("Enter your password to sign the assessment.", field="password")
    if not actor.check_password(password):
        _refused(event=event, actor=actor, channel=channel, held=held)
        raise TrialError(
            "That is not your password: the assessment was not signed.", field="password"
        )
    return _assess(
        event=event,
        answers={
            "seriousness": list(seriousness),
            "relatedness": relatedness,
            "expectedness": expectedness,
        },
        actor=actor,
        channel=channel,
        held=held,
    )


@transaction.atomic(durable=True)
def _assess(*, event: SafetyEvent, answers: dict, actor, channel: Channel, held) -> SafetyEvent:
    event = _event_for_update(event)
    if event.status != SafetyStatus.REPORTED:
        raise Conflict("This event has been assessed already.", field="event")
    response = event.response
    if response.values.get("kind") != "sae":
        answers.pop("seriousness")  # a safeguarding incident has no seriousness criteria
    before = {k: response.values.get(k) for k in answers}
    response_change(
        response=response,
        values=answers,
        actor=actor,
        channel=channel,
        reason="The principal investigator's assessment.",
        replace=False,
        standing=held,
    )
    response.refresh_from_db()
    now = timezone.now()
    event.status = SafetyStatus.ASSESSED
    event.assessed_by, event.assessed_at = actor, now
    event.assessment_meaning = ASSESSMENT_MEANING
    _set_reportable(event, response.values)
    stamp(event, actor=actor).save()
    _record(
        event,
        EventType.SAE_ASSESSED,
        actor,
        channel,
        held,
        {
            **{k: [before[k], response.values.get(k)] for k in answers},
            "meaning": [None, ASSESSMENT_MEANING],
            "reportable": [None, event.reportable],
        },
    )
    return event


def _set_reportable(event: SafetyEvent, values: dict) -> None:
    """Reportable to the ethics committee when the PI or the chief investigator judged it
    related and unexpected; the 15 days run from the chief investigator's awareness, which
    is the site's report (they are emailed when it is saved)."""
    relatedness = event.ci_relatedness or values.get("relatedness")
    expectedness = event.ci_expectedness or values.get("expectedness")
    reportable = clock.is_reportable(
        values.get("relatedness"), values.get("expectedness")
    ) or clock.is_reportable(relatedness, expectedness)
    event.reportable = reportable
    event.rec_due_on = (
        clock.rec_report_due(timezone.localdate(event.reported_at)) if reportable else None
    )


RELATEDNESS_ORDER = ("unrelated", "unlikely", "possible", "probable", "definite")


@transaction.atomic(durable=True)
def sae_review(
    *,
    event: SafetyEvent,
    relatedness: str,
    expectedness: str,
    note: str,
    actor,
    channel: Channel,
) -> SafetyEvent:
    """The chief investigator's review of an assessed event. They may judge it more
    related, or unexpected, where the PI did not; they may not downgrade the PI's
    assessment (the PI's stands, and the review note says why they differ)."""
    event = _event_for_update(event)
    held = require_role(actor, roles={Role.CHIEF_INVESTIGATOR}, trial=event.family.trial)
    if event.status == SafetyStatus.REPORTED:
        raise Conflict("The PI has not assessed this event yet.", field="event")
    if event.reviewed_at is not None:
        raise Conflict("This event has been reviewed already.", field="event")
    values = event.response.values
    if relatedness not in RELATEDNESS_ORDER:
        raise TrialError(
            f"Choose the relatedness: {', '.join(RELATEDNESS_ORDER)}.", field="relatedness"
        )
    if expectedness not in ("expected", "unexpected"):
        raise TrialError("Choose expected or unexpected.", field="expectedness")
    pi = values.get("relatedness")
    if pi in RELATEDNESS_ORDER and RELATEDNESS_ORDER.index(relatedness) < RELATEDNESS_ORDER.index(
        pi
    ):
        raise TrialError(
            "The chief investigator may not downgrade the PI's judgement of relatedness: "
            "record the same or a stronger one, and say in the note where you differ.",
            field="relatedness",
        )
    if values.get("expectedness") == "unexpected" and expectedness == "expected":
        raise TrialError(
            "The PI judged the event unexpected: the review may not downgrade it.",
            field="expectedness",
        )
    note = given(note, ask="Say what the review found.", field="note")
    event.ci_relatedness, event.ci_expectedness, event.review_note = (
        relatedness,
        expectedness,
        note,
    )
    event.reviewed_by, event.reviewed_at = actor, timezone.now()
    if event.status == SafetyStatus.ASSESSED:
        event.status = SafetyStatus.REVIEWED
    _set_reportable(event, values)
    stamp(event, actor=actor, reason=note).save()
    _record(
        event,
        EventType.SAE_REVIEWED,
        actor,
        channel,
        held,
        {
            "relatedness": [values.get("relatedness"), relatedness],
            "expectedness": [values.get("expectedness"), expectedness],
            "reportable": [None, event.reportable],
        },
        reason=note,
    )
    return event


@transaction.atomic(durable=True)
def sae_follow_up(
    *, event: SafetyEvent, outcome: str, note: str, actor, channel: Channel
) -> SafetyFollowUp:
    """A follow-up report by the site: the outcome as it stands now. A final outcome
    (the trial definition names them) closes the event."""
    event = _event_for_update(event)
    held = require_role(
        actor, roles={Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR}, site=event.family.site
    )
    if event.status == SafetyStatus.CLOSED:
        raise Conflict("This event is closed: its outcome is recorded.", field="event")
    safety = safety_form(event.family)
    field = event.response.spec.field(safety.outcome_field)
    known = [value for value, _ in (field.choices if field else ())]
    if outcome not in known:
        raise TrialError(f"Choose the outcome: {', '.join(known)}.", field="outcome")
    note = given(note, ask="Say what has happened since the last report.", field="note")
    before = event.response.values.get(safety.outcome_field)
    if before != outcome:
        response_change(
            response=event.response,
            values={safety.outcome_field: outcome},
            actor=actor,
            channel=channel,
            reason=f"Follow-up report: {note}",
            replace=False,
            standing=held,
        )
    now = timezone.now()
    follow_up = SafetyFollowUp(
        event=event, reported_at=now, reported_by=actor, outcome=outcome, note=note
    )
    stamp(follow_up, actor=actor, reason=note).save()
    if outcome in safety.final_outcomes:
        event.status, event.closed_at = SafetyStatus.CLOSED, now
        stamp(event, actor=actor, reason=note).save()
    _record(
        event,
        EventType.SAE_FOLLOWED_UP,
        actor,
        channel,
        held,
        {"outcome": [before, outcome], "status": [None, event.status]},
        reason=note,
    )
    return follow_up


@transaction.atomic(durable=True)
def sae_rec_report(
    *, event: SafetyEvent, reported_on: date, reference: str, actor, channel: Channel
) -> SafetyEvent:
    """The chief investigator records the report to the research ethics committee."""
    event = _event_for_update(event)
    held = require_role(actor, roles={Role.CHIEF_INVESTIGATOR}, trial=event.family.trial)
    if not event.reportable:
        raise Conflict(
            "This event is not reportable to the ethics committee (not both related and "
            "unexpected).",
            field="event",
        )
    if event.rec_reported_on is not None:
        raise Conflict("The report to the ethics committee is recorded already.", field="event")
    if reported_on > today():
        raise TrialError("The report cannot be dated in the future.", field="reported_on")
    if reported_on < timezone.localdate(event.reported_at):
        raise TrialError(
            "The report cannot be dated before the site reported the event.", field="reported_on"
        )
    reference = given(reference, ask="Give the ethics committee's reference.", field="reference")
    event.rec_reported_on, event.rec_reference, event.rec_reported_by = (
        reported_on,
        reference,
        actor,
    )
    stamp(event, actor=actor).save()
    _record(
        event,
        EventType.SAE_REC_REPORTED,
        actor,
        channel,
        held,
        {
            "rec_reported_on": [None, reported_on.isoformat()],
            "reference": [None, reference],
            "late": [None, not clock.rec_on_time(reported_on, event.rec_due_on)],
        },
    )
    return event

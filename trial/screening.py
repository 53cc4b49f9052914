"""Services for the screening log: a referral screened, then closed or enrolled."""

from datetime import date

from django.db import transaction

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError
from core.roles import Role
from sites.models import Site
from sites.permissions import require_role

from .config import config_of
from .counters import next_sequence
from .eligibility import age_band, assess, child_age_on
from .identifiers import screening_identifier
from .models import ScreeningOutcome, ScreeningRecord

SCREENERS = {Role.SITE_COORDINATOR}


def _not_future(value: date | None, field: str, label: str) -> date:
    if value is None:
        raise TrialError(f"{label} is required.", field=field)
    if value > today():
        raise TrialError(f"{label} cannot be in the future.", field=field)
    return value


@transaction.atomic(durable=True)
def screening_record(
    *,
    site: Site,
    actor,
    channel: Channel,
    referral_date: date,
    referrer_type: str,
    answers: dict,
    child_date_of_birth: date | None = None,
    expected_due_date: date | None = None,
    interpreter_needed: bool = False,
    interpreter_language: str = "",
) -> ScreeningRecord:
    """Screen a referral at an active site. Eligibility follows from the answers and the
    child's age, which is derived from the date of birth (or due date)."""
    held = require_role(actor, roles=SCREENERS, site=site)
    if not site.can_recruit:
        raise TrialError(
            f"{site.code} is {site.get_status_display().lower()}: it cannot take referrals.",
            field="site",
        )
    config = config_of(site.trial)
    referral_date = _not_future(referral_date, "referral_date", "Referral date")
    active_from = (
        site.status_steps.filter(to_status="active")
        .values_list("effective_date", flat=True)
        .order_by("-effective_date")
        .first()
    )
    if active_from and referral_date < active_from:
        raise TrialError(
            f"{site.code} has recruited only since {active_from:%d %b %Y}.", field="referral_date"
        )
    if referrer_type not in config.referrers:
        raise TrialError(
            f"'{referrer_type}' is not a referrer type; use one of: {', '.join(config.referrers)}.",
            field="referrer_type",
        )
    try:
        age = child_age_on(
            referral_date, date_of_birth=child_date_of_birth, expected_due_date=expected_due_date
        )
    except ValueError as exc:
        field = (
            "expected_due_date"
            if expected_due_date and not child_date_of_birth
            else "child_date_of_birth"
        )
        raise TrialError(f"{str(exc)[0].upper()}{str(exc)[1:]}.", field=field) from exc
    known = {c.key for c in config.eligibility.criteria}
    for key in answers:
        if key not in known:
            raise TrialError(f"'{key}' is not an eligibility criterion.", field=f"answers.{key}")
    try:
        verdict = assess(config.eligibility, age, answers)
    except KeyError as exc:
        key = exc.args[0]
        raise TrialError(
            "Answer every eligibility criterion yes or no.", field=f"answers.{key}"
        ) from exc
    if interpreter_needed and not (interpreter_language or "").strip():
        raise TrialError("Say which language the interpreter is for.", field="interpreter_language")
    sequence = next_sequence(site, "screening")
    screening = ScreeningRecord(
        trial=site.trial,
        site=site,
        identifier=screening_identifier(site.trial.code, site.code, sequence),
        referral_date=referral_date,
        referrer_type=referrer_type,
        child_born=age.born,
        child_date_of_birth=child_date_of_birth,
        expected_due_date=expected_due_date,
        child_age_days=age.age_days,
        child_age_months=age.age_months,
        gestation_days=age.gestation_days,
        age_band=age_band(config.age_bands, age),
        answers=dict(answers),
        eligible=verdict.eligible,
        failed_criterion=verdict.failed,
        interpreter_needed=interpreter_needed,
        interpreter_language=(interpreter_language or "").strip(),
        outcome=ScreeningOutcome.ELIGIBLE if verdict.eligible else ScreeningOutcome.NOT_ELIGIBLE,
        outcome_date=None if verdict.eligible else referral_date,
        recorded_by=actor,
    )
    stamp(screening, actor=actor).save()
    # The ledger holds what the log holds: ages and band, never the date of birth.
    record(
        event=EventType.SCREENED,
        actor=actor,
        channel=channel,
        obj=screening,
        site=site,
        changes={
            "identifier": [None, screening.identifier],
            "referrer_type": [None, referrer_type],
            "age_band": [None, screening.age_band],
            "outcome": [None, screening.outcome],
            "failed_criterion": [None, verdict.failed],
        },
        actor_role=held,
    )
    return screening


@transaction.atomic(durable=True)
def screening_close(
    *,
    screening: ScreeningRecord,
    actor,
    channel: Channel,
    outcome: str,
    reason: str,
    note: str = "",
    outcome_date: date | None = None,
) -> ScreeningRecord:
    """Close an eligible referral that will not be enrolled: declined, or another reason."""
    held = require_role(actor, roles=SCREENERS, site=screening.site)
    screening = ScreeningRecord.objects.select_for_update().get(pk=screening.pk)
    if not screening.is_open:
        raise Conflict(
            f"{screening.identifier} is already closed "
            f"({screening.get_outcome_display().lower()}).",
            field="outcome",
        )
    config = config_of(screening.trial)
    reasons = {
        ScreeningOutcome.DECLINED: config.decline_reasons,
        ScreeningOutcome.OTHER: config.other_reasons,
    }.get(outcome)
    if reasons is None:
        raise TrialError("Outcome must be declined or other.", field="outcome")
    if reason not in reasons:
        raise TrialError(
            f"'{reason}' is not a reason for this outcome; use one of: {', '.join(reasons)}.",
            field="reason",
        )
    if reason == "other" and not (note or "").strip():
        raise TrialError("Describe the other reason.", field="note")
    closed_on = _not_future(outcome_date or today(), "outcome_date", "Outcome date")
    if closed_on < screening.referral_date:
        raise TrialError("The outcome cannot come before the referral.", field="outcome_date")
    screening.outcome, screening.outcome_reason = outcome, reason
    screening.outcome_note, screening.outcome_date = (note or "").strip(), closed_on
    stamp(screening, actor=actor).save()
    record(
        event=EventType.SCREENING_CLOSED,
        actor=actor,
        channel=channel,
        obj=screening,
        site=screening.site,
        changes={"outcome": ["eligible", outcome], "outcome_reason": [None, reason]},
        actor_role=held,
    )
    return screening

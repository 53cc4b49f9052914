"""The protocol deviation log: deviations recorded by hand or found by the system, their
review by the trial manager, and the serious-breach clock (a possible serious breach is
reported within 7 calendar days). A deviation not reviewed blocks a lock."""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.events import Concealed, EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError
from core.roles import Role
from sites.permissions import require_role
from sites.selectors import roles_at

from .config import config_of
from .models import Family, ProtocolDeviation
from .models.deviation import BREACH_REPORT_WITHIN

Kind, Source = ProtocolDeviation.Kind, ProtocolDeviation.Source

# Who records a deviation at a family's site (trial-wide roles at every site).
RECORDERS = frozenset(
    {
        Role.SITE_COORDINATOR,
        Role.PRINCIPAL_INVESTIGATOR,
        Role.TRIAL_MANAGER,
        Role.CHIEF_INVESTIGATOR,
        Role.MONITOR,
    }
)
# Who flags a possible serious breach and records that it was reported.
BREACH_OWNERS = frozenset({Role.TRIAL_MANAGER, Role.CHIEF_INVESTIGATOR})
# The site's own staff name the assessor when they report one unblinded.
SITE_STAFF = frozenset({Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR})


def breach_due(aware_at: datetime) -> datetime:
    """When a possible serious breach must be reported: 7 calendar days (weekends count)
    after the trial became aware of it."""
    return aware_at + BREACH_REPORT_WITHIN


def kinds_logged(family: Family) -> list[str]:
    return list(config_of(family.trial).deviations.kinds)


def _unblinded(family: Family):
    return ProtocolDeviation.objects.filter(
        family=family, kind=Kind.ASSESSOR_UNBLINDED, person__isnull=False
    )


def arm_learned_by(person, family: Family):
    """The deviations that record that this person learned the family's arm (a queryset, so
    that a write path can ask it inside a query of its own)."""
    return _unblinded(family).filter(person=person)


def learned_arm(person, family: Family) -> bool:
    """Whether a deviation records that this person learned the family's arm."""
    return arm_learned_by(person, family).exists()


def blinded_assessor_needed(family: Family) -> bool:
    """Whether an assessor of the family learned its arm, so that the site must send another
    (said to the site without saying which arm)."""
    return _unblinded(family).exists()


def _conceal(kind: str) -> str:
    return Concealed.EVENT if kind in ProtocolDeviation.REVEALS_ARM else ""


def _recorded(deviation: ProtocolDeviation, *, actor, channel, held, username="") -> None:
    record(
        event=EventType.DEVIATION_RECORDED,
        actor=actor,
        actor_username=username,
        channel=channel,
        obj=deviation,
        site=deviation.family.site,
        family=deviation.family.identifier,
        changes={
            "kind": [None, deviation.kind],
            "severity": [None, deviation.severity],
            "source": [None, deviation.source],
            "possible_serious_breach": [None, deviation.possible_serious_breach],
        },
        conceal=_conceal(deviation.kind),
        actor_role=held,
    )


def _check_person(person, family: Family, kind: str, held: set[str]):
    if kind != Kind.ASSESSOR_UNBLINDED:
        if person is not None:
            raise TrialError(
                "Name a person only for an assessor who learned the family's arm.",
                field="person",
            )
        return None
    if person is None:
        if held & SITE_STAFF:
            raise TrialError("Name the assessor who learned the family's arm.", field="person")
        return None
    if Role.OUTCOME_ASSESSOR not in roles_at(person, family.site):
        raise TrialError(
            f"{person.get_username()} is not an outcome assessor at {family.site.code}.",
            field="person",
        )
    return person


@transaction.atomic(durable=True)
def deviation_record(
    *,
    family: Family,
    kind: str,
    severity: str,
    occurred_on: date,
    description: str,
    corrective_action: str = "",
    preventive_action: str = "",
    possible_serious_breach: bool = False,
    person=None,
    actor,
    channel: Channel,
) -> ProtocolDeviation:
    """Record a protocol deviation of a family, at its site: its coordinators, PI or monitor,
    the trial manager or the chief investigator. A possible serious breach starts its clock."""
    family = Family.objects.select_related("site", "trial").get(pk=family.pk)
    held = require_role(actor, roles=RECORDERS, site=family.site)
    if kind not in kinds_logged(family):
        known = ", ".join(ProtocolDeviation.Kind(k).label.lower() for k in kinds_logged(family))
        raise TrialError(f"Choose a kind of deviation this trial logs: {known}.", field="kind")
    if severity not in ProtocolDeviation.Severity.values:
        raise TrialError("Severity must be minor or major.", field="severity")
    if not isinstance(occurred_on, date):
        raise TrialError("Give the date it happened.", field="occurred_on")
    if occurred_on > today():
        raise TrialError("The date it happened cannot be in the future.", field="occurred_on")
    description = given(description, ask="Describe what happened.", field="description")
    person = _check_person(person, family, kind, held)
    now = timezone.now()
    deviation = ProtocolDeviation(
        family=family,
        kind=kind,
        severity=severity,
        occurred_on=occurred_on,
        description=description,
        corrective_action=(corrective_action or "").strip(),
        preventive_action=(preventive_action or "").strip(),
        source=Source.COORDINATOR_REPORT
        if kind == Kind.ASSESSOR_UNBLINDED and held & SITE_STAFF
        else Source.MANUAL,
        person=person,
        recorded_by=actor,
        possible_serious_breach=bool(possible_serious_breach),
    )
    if deviation.possible_serious_breach:
        deviation.breach_flagged_at, deviation.breach_due_at = now, breach_due(now)
    stamp(deviation, actor=actor).save()
    _recorded(deviation, actor=actor, channel=channel, held=held)
    return deviation


def deviation_detected(
    *,
    family: Family,
    kind: str,
    severity: str,
    occurred_on: date,
    description: str,
    source: str,
    source_key: str,
    actor,
    channel: Channel,
    person=None,
    response=None,
    corrective_action: str = "",
) -> ProtocolDeviation | None:
    """A deviation the system found (a factor corrected, a form out of its window, an
    assessor who learned the arm, an emergency unblinding), inside the caller's transaction
    and checks. Recorded once per source_key: None when it was already, or when the trial
    does not log that kind."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("deviation_detected runs inside the calling service's transaction")
    if not source_key:
        raise ValueError("an automatic deviation needs its source_key")
    if kind not in kinds_logged(family):
        return None
    found = ProtocolDeviation.objects.filter(family=family, kind=kind, source_key=source_key)
    if found.exists():
        return None
    deviation = ProtocolDeviation(
        family=family,
        kind=kind,
        severity=severity,
        occurred_on=occurred_on,
        description=description,
        corrective_action=corrective_action,
        source=source,
        source_key=source_key,
        person=person,
        response=response,
        recorded_by=actor,
    )
    try:
        # A concurrent transaction may have found the same one first: the unique index says.
        with transaction.atomic():
            stamp(deviation, actor=actor).save()
    except IntegrityError:
        return None
    _recorded(
        deviation,
        actor=actor,
        channel=channel,
        held=roles_at(actor, family.site) if actor else "",
        username="" if actor else "automatic check",
    )
    return deviation


def _locked(deviation: ProtocolDeviation) -> ProtocolDeviation:
    return (
        ProtocolDeviation.objects.select_for_update(of=("self",))
        .select_related("family__site", "family__trial")
        .get(pk=deviation.pk)
    )


@transaction.atomic(durable=True)
def deviation_review(
    *, deviation: ProtocolDeviation, actor, channel: Channel, note: str
) -> ProtocolDeviation:
    """The trial manager reviews a deviation, saying what was found or decided."""
    deviation = _locked(deviation)
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=deviation.family.trial)
    if deviation.reviewed_at is not None:
        raise Conflict("This deviation was reviewed already.", field="deviation")
    note = given(note, ask="Say what the review found or decided.", field="note")
    deviation.reviewed_by, deviation.reviewed_at, deviation.review_note = (
        actor,
        timezone.now(),
        note,
    )
    stamp(deviation, actor=actor, reason=note).save()
    record(
        event=EventType.DEVIATION_REVIEWED,
        actor=actor,
        channel=channel,
        obj=deviation,
        site=deviation.family.site,
        family=deviation.family.identifier,
        changes={"reviewed": [None, deviation.get_kind_display()]},
        reason=note,
        conceal=_conceal(deviation.kind),
        actor_role=held,
    )
    return deviation


@transaction.atomic(durable=True)
def deviation_flag_breach(
    *, deviation: ProtocolDeviation, reason: str, actor, channel: Channel
) -> ProtocolDeviation:
    """The trial manager or chief investigator flags a possible serious breach: it must be
    reported within 7 days from now."""
    deviation = _locked(deviation)
    held = require_role(actor, roles=BREACH_OWNERS, trial=deviation.family.trial)
    if deviation.possible_serious_breach:
        raise Conflict("This deviation is flagged as a possible serious breach already.")
    reason = given(reason, ask="Say why this may be a serious breach.", field="reason")
    now = timezone.now()
    deviation.possible_serious_breach = True
    deviation.breach_flagged_at, deviation.breach_due_at = now, breach_due(now)
    stamp(deviation, actor=actor, reason=reason).save()
    record(
        event=EventType.DEVIATION_BREACH_FLAGGED,
        actor=actor,
        channel=channel,
        obj=deviation,
        site=deviation.family.site,
        family=deviation.family.identifier,
        changes={
            "possible_serious_breach": [False, True],
            "breach_due_at": [None, deviation.breach_due_at.isoformat()],
        },
        reason=reason,
        conceal=_conceal(deviation.kind),
        actor_role=held,
    )
    return deviation


@transaction.atomic(durable=True)
def deviation_breach_reported(
    *, deviation: ProtocolDeviation, reported_on: date, actor, channel: Channel
) -> ProtocolDeviation:
    """The trial manager or chief investigator records the day a possible serious breach
    was reported to the sponsor and the ethics committee: its clock stops."""
    deviation = _locked(deviation)
    held = require_role(actor, roles=BREACH_OWNERS, trial=deviation.family.trial)
    if not deviation.possible_serious_breach:
        raise Conflict(
            "Flag the deviation as a possible serious breach before recording its report.",
            field="reported_on",
        )
    if deviation.breach_reported_on is not None:
        raise Conflict("This breach was recorded as reported already.", field="reported_on")
    if not isinstance(reported_on, date):
        raise TrialError("Give the date it was reported.", field="reported_on")
    if reported_on > today():
        raise TrialError("The date it was reported cannot be in the future.", field="reported_on")
    if reported_on < deviation.occurred_on:
        raise TrialError(
            "The date it was reported cannot be before the deviation happened.",
            field="reported_on",
        )
    deviation.breach_reported_on, deviation.breach_reported_by = reported_on, actor
    stamp(deviation, actor=actor).save()
    record(
        event=EventType.DEVIATION_BREACH_REPORTED,
        actor=actor,
        channel=channel,
        obj=deviation,
        site=deviation.family.site,
        family=deviation.family.identifier,
        changes={"breach_reported_on": [None, reported_on.isoformat()]},
        conceal=_conceal(deviation.kind),
        actor_role=held,
    )
    return deviation

"""Services for consent: form versions, the date each takes effect at a site, a parent's
consent, and its correction."""

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from audit.events import EditAfter, EventType
from audit.history import stamp
from audit.ledger import diff, record, snapshot
from audit.reasons import require_reason
from core.channels import Channel
from core.clock import today
from core.errors import NotPermitted, TrialError, refused_if_duplicate
from core.roles import Duty, Role
from sites.models import Site
from sites.permissions import require_duty, require_role

from .collection import version_in_effect
from .config import config_of
from .models import ConsentRecord, ConsentVersion, ConsentVersionSite, Family, Participant, Trial

CONSENT_RECORDERS = {Role.SITE_COORDINATOR}
CONSENT_FIELDS = (
    "consent_date",
    "taken_by",
    "method",
    "interpreter_used",
    "interpreter_language",
    "answers",
    "version",
)


@dataclass(frozen=True)
class ConsentIn:
    version: ConsentVersion
    consent_date: date
    taken_by: object
    method: str
    answers: dict
    interpreter_used: bool = False
    interpreter_language: str = ""


@transaction.atomic(durable=True)
def consent_version_create(
    *,
    trial: Trial,
    actor,
    channel: Channel,
    version: str,
    ethics_approval_date: date,
    items: list[str],
    reconsent_required: bool = False,
) -> ConsentVersion:
    """Publish a version approved by the ethics committee (trial manager)."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    config = config_of(trial)
    label = (version or "").strip()
    if not label:
        raise TrialError("Version is required, e.g. 2.1.", field="version")
    if ethics_approval_date > today():
        raise TrialError(
            "The ethics approval date cannot be in the future.", field="ethics_approval_date"
        )
    known = {i.key for i in config.consent_items}
    for key in items:
        if key not in known:
            raise TrialError(f"'{key}' is not one of the trial's consent items.", field="items")
    missing = [i.key for i in config.consent_items if i.required and i.key not in items]
    if missing:
        raise TrialError(f"Every version must ask: {', '.join(missing)}.", field="items")
    taken = f"Version {label} already exists."
    if ConsentVersion.objects.filter(trial=trial, version=label).exists():
        raise TrialError(taken, field="version")
    created = ConsentVersion(
        trial=trial,
        version=label,
        ethics_approval_date=ethics_approval_date,
        items=list(dict.fromkeys(items)),
        reconsent_required=reconsent_required,
        created_by=actor,
    )
    with refused_if_duplicate(taken, field="version"):
        stamp(created, actor=actor).save()
    record(
        event=EventType.CONSENT_VERSION_CREATED,
        actor=actor,
        channel=channel,
        obj=created,
        changes=diff(
            {},
            snapshot(created, ("version", "ethics_approval_date", "items", "reconsent_required")),
        ),
        actor_role=held,
    )
    return created


@transaction.atomic(durable=True)
def consent_version_activate(
    *, version: ConsentVersion, site: Site, effective_from: date, actor, channel: Channel
) -> ConsentVersionSite:
    """Put a version in use at a site from a date (trial manager)."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=version.trial)
    if site.trial_id != version.trial_id:
        raise TrialError(f"{site.code} is not a site of this trial.", field="site")
    if effective_from < version.ethics_approval_date:
        raise TrialError(
            "A version cannot take effect before its ethics approval.", field="effective_from"
        )
    if ConsentVersionSite.objects.filter(site=site, effective_from=effective_from).exists():
        raise TrialError(
            f"Another version takes effect at {site.code} on that date.", field="effective_from"
        )
    taken = f"Version {version.version} is already in use at {site.code}."
    if ConsentVersionSite.objects.filter(version=version, site=site).exists():
        raise TrialError(taken, field="site")
    placed = ConsentVersionSite(
        version=version, site=site, effective_from=effective_from, recorded_by=actor
    )
    with refused_if_duplicate(taken, field="site"):
        stamp(placed, actor=actor).save()
    record(
        event=EventType.CONSENT_VERSION_EFFECTIVE,
        actor=actor,
        channel=channel,
        obj=placed,
        site=site,
        changes={
            "version": [None, version.version],
            "effective_from": [None, effective_from.isoformat()],
        },
        actor_role=held,
    )
    return placed


def check_consent(site: Site, given: ConsentIn) -> dict:
    """Refuse, naming the field, a consent that could not have been valid: dated in the
    future, on a version not in effect at the site that day, taken by someone without the
    consent duty that day, or with an item unanswered."""
    if given.consent_date > today():
        raise TrialError("A consent cannot be dated in the future.", field="consent_date")
    if given.version.trial_id != site.trial_id:
        raise TrialError("That version belongs to another trial.", field="version")
    in_effect = version_in_effect(site, given.consent_date)
    if in_effect is None or in_effect.pk != given.version.pk:
        placed = ConsentVersionSite.objects.filter(version=given.version, site=site).first()
        when = f"{given.consent_date:%d %b %Y}"
        if placed is None:
            problem = f"version {given.version.version} is not in use at {site.code}"
        elif placed.effective_from > given.consent_date:
            problem = (
                f"version {given.version.version} takes effect at {site.code} only from "
                f"{placed.effective_from:%d %b %Y}"
            )
        else:
            problem = (
                f"version {given.version.version} was replaced at {site.code} by "
                f"version {in_effect.version} before {when}"
            )
        raise TrialError(f"Consent on {when} is not possible: {problem}.", field="version")
    try:
        require_duty(given.taken_by, site=site, duty=Duty.TAKE_CONSENT, on=given.consent_date)
    except NotPermitted as exc:
        raise TrialError(exc.message, field="taken_by") from exc
    if given.method not in ConsentRecord.Method.values:
        raise TrialError("Method must be in person or remote.", field="method")
    asked = list(given.version.items)
    for key in given.answers:
        if key not in asked:
            raise TrialError(
                f"'{key}' is not asked on version {given.version.version}.", field=f"answers.{key}"
            )
    for key in asked:
        if not isinstance(given.answers.get(key), bool):
            raise TrialError("Record a yes or no for every item.", field=f"answers.{key}")
    if given.interpreter_used and not (given.interpreter_language or "").strip():
        raise TrialError("Say which language was interpreted.", field="interpreter_language")
    return {key: given.answers[key] for key in asked}


def write_consent(
    *, family: Family, parent: Participant, given: ConsentIn, actor, actor_role, channel: Channel
) -> ConsentRecord:
    """Inside a service's transaction: validate, save and record one consent."""
    answers = check_consent(family.site, given)
    consent = ConsentRecord(
        family=family,
        participant=parent,
        version=given.version,
        consent_date=given.consent_date,
        taken_by=given.taken_by,
        method=given.method,
        interpreter_used=given.interpreter_used,
        interpreter_language=(given.interpreter_language or "").strip(),
        answers=answers,
        recorded_by=actor,
    )
    stamp(consent, actor=actor).save()
    record(
        event=EventType.CONSENT_RECORDED,
        actor=actor,
        channel=channel,
        obj=consent,
        site=family.site,
        family=family.identifier,
        changes=diff({}, snapshot(consent, CONSENT_FIELDS)) | {"parent": [None, parent.number]},
        actor_role=actor_role,
    )
    return consent


@transaction.atomic(durable=True)
def consent_record(
    *, family: Family, parent: Participant, given: ConsentIn, actor, channel: Channel
) -> ConsentRecord:
    """A parent's consent after enrolment: the second parent, or a re-consent."""
    held = require_role(actor, roles=CONSENT_RECORDERS, site=family.site)
    if parent.family_id != family.pk or parent.role != Participant.Role.PARENT:
        raise TrialError("Consent is given by a parent of this family.", field="parent")
    return write_consent(
        family=family, parent=parent, given=given, actor=actor, actor_role=held, channel=channel
    )


@transaction.atomic(durable=True)
def consent_correct(
    *, consent: ConsentRecord, actor, channel: Channel, reason: str, **changes
) -> ConsentRecord:
    """Correct a consent record as entered; a recorded consent is complete, so every
    correction needs a reason."""
    family = consent.family
    held = require_role(actor, roles=CONSENT_RECORDERS, site=family.site)
    unknown = set(changes) - set(CONSENT_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise TrialError(f"{field} cannot be corrected here.", field=field)
    consent = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
    before = snapshot(consent, CONSENT_FIELDS)
    given = ConsentIn(
        **{
            f: changes.get(f, getattr(consent, f))
            for f in (
                "version",
                "consent_date",
                "taken_by",
                "method",
                "answers",
                "interpreter_used",
                "interpreter_language",
            )
        }
    )
    answers = check_consent(family.site, given)
    for name, value in changes.items():
        setattr(consent, name, value)
    consent.answers = answers
    changed = diff(before, snapshot(consent, CONSENT_FIELDS))
    if not changed:
        return consent
    reason = require_reason(reason, after=EditAfter.COMPLETED, state="This consent is recorded")
    stamp(consent, actor=actor, reason=reason).save()
    record(
        event=EventType.CONSENT_CORRECTED,
        actor=actor,
        channel=channel,
        obj=consent,
        site=family.site,
        family=family.identifier,
        changes=changed,
        reason=reason,
        edit_after=EditAfter.COMPLETED,
        actor_role=held,
    )
    return consent

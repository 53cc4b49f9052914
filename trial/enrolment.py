"""Services for enrolling a family and for its identifying data."""

from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import transaction

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import Role
from sites.permissions import require_role

from .config import config_of
from .consents import ConsentIn, check_consent, write_consent
from .counters import next_sequence
from .identifiers import family_identifier, is_valid_nhs_number
from .models import (
    Family,
    FamilyIdentity,
    Participant,
    PersonIdentity,
    ScreeningOutcome,
    ScreeningRecord,
    Withdrawal,
)
from .selectors import may_see_identity

ENROLLERS = {Role.SITE_COORDINATOR}
MIN_PARENT_AGE_YEARS = 12


@dataclass(frozen=True)
class PersonIn:
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None
    nhs_number: str = ""
    relationship: str = ""
    parental_responsibility: bool = False


@dataclass(frozen=True)
class ContactIn:
    address: str
    phone: str = ""
    social_worker_name: str = ""
    social_worker_contact: str = ""


def _name(value: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise TrialError(f"{label} is required.", field=field)
    return value


def _nhs(value: str, field: str) -> str:
    value = (value or "").replace(" ", "")
    if value and not is_valid_nhs_number(value):
        raise TrialError(
            "That is not a valid NHS number (10 digits, the last a check digit).", field=field
        )
    return value


def _parent_age(person: PersonIn, field: str, on: date, child_born: date | None) -> int:
    dob = person.date_of_birth
    if dob is None:
        raise TrialError("The parent's date of birth is required.", field=field)
    years = relativedelta(on, dob).years
    if dob > on or years < MIN_PARENT_AGE_YEARS or (child_born and dob >= child_born):
        raise TrialError("That is not a plausible date of birth for a parent.", field=field)
    return years


@transaction.atomic(durable=True)
def family_enrol(
    *,
    screening: ScreeningRecord,
    actor,
    channel: Channel,
    legal_status: str,
    child: PersonIn,
    parents: list[PersonIn],
    contact: ContactIn,
    consents: list[tuple[int, ConsentIn]],
    enrolled_on: date | None = None,
) -> Family:
    """Enrol an eligible referral as a family, with its first consents. Needs the required
    items (take part) from at least one parent with parental responsibility."""
    site = screening.site
    held = require_role(actor, roles=ENROLLERS, site=site)
    screening = ScreeningRecord.objects.select_for_update().get(pk=screening.pk)
    if not screening.is_open:
        raise Conflict(
            f"{screening.identifier} is {screening.get_outcome_display().lower()}: "
            "it cannot be enrolled.",
            field="screening",
        )
    if not site.can_recruit:
        raise TrialError(f"{site.code} is not active: it cannot enrol.", field="site")
    config = config_of(screening.trial)
    if legal_status not in config.legal_statuses:
        raise TrialError(
            f"'{legal_status}' is not a legal status; use one of: "
            f"{', '.join(config.legal_statuses)}.",
            field="legal_status",
        )
    if not 1 <= len(parents) <= 2:
        raise TrialError("A family has one or two parents.", field="parents")
    on = enrolled_on or today()
    if on > today():
        raise TrialError("The enrolment date cannot be in the future.", field="enrolled_on")
    child_born = screening.child_date_of_birth
    ages = [
        _parent_age(p, f"parents.{i}.date_of_birth", on, child_born) for i, p in enumerate(parents)
    ]
    for i, parent in enumerate(parents):
        _name(parent.given_name, f"parents.{i}.given_name", "Given name")
        _name(parent.family_name, f"parents.{i}.family_name", "Family name")
        _nhs(parent.nhs_number, f"parents.{i}.nhs_number")
    if screening.child_born:
        _name(child.given_name, "child.given_name", "The child's given name")
    _name(child.family_name, "child.family_name", "The child's family name")
    _nhs(child.nhs_number, "child.nhs_number")
    _name(contact.address, "contact.address", "Address")
    if not consents:
        raise TrialError("Record the consent of at least one parent.", field="consents")
    required = {i.key for i in config.consent_items if i.required}
    numbers = [n for n, _ in consents]
    if len(set(numbers)) != len(numbers) or not set(numbers) <= set(range(1, len(parents) + 1)):
        raise TrialError(
            "Each consent belongs to parent 1 or 2 of this family, once.", field="consents"
        )
    for _, given in consents:
        check_consent(site, given)  # each consent valid on its own, before what follows from it
    if not any(
        parents[n - 1].parental_responsibility and all(c.answers.get(k) is True for k in required)
        for n, c in consents
    ):
        raise TrialError(
            "Enrolment needs consent to take part from a parent with parental responsibility.",
            field="consents",
        )
    if any(c.consent_date < screening.referral_date for _, c in consents):
        raise TrialError("A consent cannot come before the referral.", field="consents")

    if on < min(c.consent_date for _, c in consents):
        raise TrialError("A family is enrolled on or after its consent.", field="enrolled_on")
    sequence = next_sequence(site, "family")
    family = Family(
        trial=screening.trial,
        site=site,
        screening=screening,
        sequence=sequence,
        identifier=family_identifier(screening.trial.code, site.code, sequence),
        legal_status=legal_status,
        enrolled_on=on,
        enrolled_by=actor,
    )
    stamp(family, actor=actor).save()
    child_row = stamp(
        Participant(family=family, role=Participant.Role.CHILD, number=1), actor=actor
    )
    child_row.save()
    stamp(
        PersonIdentity(
            participant=child_row,
            given_name=(child.given_name or "").strip(),
            family_name=child.family_name.strip(),
            date_of_birth=child_born,
            expected_due_date=screening.expected_due_date,
            nhs_number=_nhs(child.nhs_number, "child.nhs_number"),
        ),
        actor=actor,
    ).save()
    parent_rows = []
    for n, (parent, age) in enumerate(zip(parents, ages, strict=True), start=1):
        row = Participant(
            family=family,
            role=Participant.Role.PARENT,
            number=n,
            relationship=(parent.relationship or "").strip(),
            parental_responsibility=parent.parental_responsibility,
            age_at_enrolment_years=age,
        )
        stamp(row, actor=actor).save()
        stamp(
            PersonIdentity(
                participant=row,
                given_name=parent.given_name.strip(),
                family_name=parent.family_name.strip(),
                date_of_birth=parent.date_of_birth,
                nhs_number=_nhs(parent.nhs_number, f"parents.{n - 1}.nhs_number"),
            ),
            actor=actor,
        ).save()
        parent_rows.append(row)
    stamp(
        FamilyIdentity(
            family=family,
            address=contact.address.strip(),
            phone=(contact.phone or "").strip(),
            social_worker_name=(contact.social_worker_name or "").strip(),
            social_worker_contact=(contact.social_worker_contact or "").strip(),
        ),
        actor=actor,
    ).save()
    screening.outcome, screening.outcome_date = ScreeningOutcome.CONSENTED, on
    stamp(screening, actor=actor).save()
    # The ledger records who enrolled whom by trial identifier; never a name.
    record(
        event=EventType.FAMILY_ENROLLED,
        actor=actor,
        channel=channel,
        obj=family,
        site=site,
        family=family.identifier,
        changes={
            "identifier": [None, family.identifier],
            "screening": [None, screening.identifier],
            "legal_status": [None, legal_status],
            "parents": [None, len(parents)],
        },
        actor_role=held,
    )
    for number, given in consents:
        write_consent(
            family=family,
            parent=parent_rows[number - 1],
            given=given,
            actor=actor,
            actor_role=held,
            channel=channel,
        )
    return family


IDENTITY_FIELDS = ("given_name", "family_name", "date_of_birth", "expected_due_date", "nhs_number")


@transaction.atomic(durable=True)
def identity_view(*, family: Family, actor, channel: Channel) -> dict:
    """The family's identifying data, for a coordinator of its site; the view is recorded."""
    if not may_see_identity(actor, family.site):
        raise NotPermitted("Only the coordinators of the family's site see identifying data.")
    people = []
    for participant in family.participants.select_related("identity").order_by("role", "number"):
        person = participant.identity
        people.append(
            {
                "role": participant.role,
                "number": participant.number,
                "relationship": participant.relationship,
                **{f: getattr(person, f) for f in IDENTITY_FIELDS},
            }
        )
    contact = family.identity
    record(
        event=EventType.IDENTITY_VIEWED,
        actor=actor,
        channel=channel,
        obj=family,
        site=family.site,
        family=family.identifier,
        actor_role=Role.SITE_COORDINATOR,
    )
    return {
        "people": people,
        "address": contact.address,
        "phone": contact.phone,
        "social_worker_name": contact.social_worker_name,
        "social_worker_contact": contact.social_worker_contact,
    }


@transaction.atomic(durable=True)
def withdrawal_record(
    *, family: Family, actor, channel: Channel, level: str, withdrawal_date: date, reason: str
):
    """Record a withdrawal at one of the trial's levels. No data is deleted."""

    held = require_role(actor, roles=ENROLLERS, site=family.site)
    config = config_of(family.trial)
    if config.withdrawal_level(level) is None:
        raise TrialError(
            f"'{level}' is not a withdrawal level; use one of: "
            f"{', '.join(w.key for w in config.withdrawal_levels)}.",
            field="level",
        )
    if withdrawal_date > today():
        raise TrialError("A withdrawal cannot be dated in the future.", field="withdrawal_date")
    if withdrawal_date < family.enrolled_on:
        raise TrialError("A withdrawal cannot come before enrolment.", field="withdrawal_date")
    reason = (reason or "").strip()
    if not reason:
        raise TrialError(
            "Give the family's reason for withdrawing (or that none was given).", field="reason"
        )
    withdrawal = Withdrawal(
        family=family,
        level=level,
        withdrawal_date=withdrawal_date,
        reason=reason,
        recorded_by=actor,
    )
    stamp(withdrawal, actor=actor).save()
    record(
        event=EventType.WITHDRAWAL_RECORDED,
        actor=actor,
        channel=channel,
        obj=withdrawal,
        site=family.site,
        family=family.identifier,
        changes={"level": [None, level], "withdrawal_date": [None, withdrawal_date.isoformat()]},
        reason=reason,
        actor_role=held,
    )
    return withdrawal

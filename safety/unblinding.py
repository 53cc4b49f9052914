"""Emergency unblinding: a blinded person (a DMC member, a blinded statistician, an assessor)
asks to learn one family's arm for a safety reason; a trial manager or the chief
investigator, never the person asking, approves or refuses; the arm is then shown once, to
that person. Each step is in the ledger, and the trial manager is emailed when it is shown."""

from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given
from core.channels import Channel
from core.errors import Conflict, NotPermitted
from core.roles import BLINDED_ROLES, Role
from randomisation.concealment import arm_for_emergency_unblinding, blinded_within
from sites.permissions import require_role
from sites.selectors import roles_at
from trial.deviations import deviation_detected
from trial.models import Family

from .models import EmergencyUnblinding
from .notifications import unblinding_shown_notify
from .selectors import APPROVERS


def _record(item: EmergencyUnblinding, kind: EventType, actor, channel, held, changes, reason=""):
    record(
        event=kind,
        actor=actor,
        channel=channel,
        obj=item,
        site=item.family.site,
        family=item.family.identifier,
        changes=changes,
        reason=reason,
        actor_role=held,
    )


@transaction.atomic(durable=True)
def unblinding_request(*, family: Family, reason: str, actor, channel: Channel):
    """A blinded person asks for one family's arm, saying why."""
    if not blinded_within(actor, family.trial, family.site):
        raise NotPermitted(
            "Only someone blinded at this family's site asks for an emergency unblinding: "
            "your roles may read the arm already."
        )
    held = roles_at(actor, family.site) & BLINDED_ROLES
    if not family.allocations.exists():
        raise Conflict(f"{family.identifier} is not randomised: there is no arm.", field="family")
    if EmergencyUnblinding.objects.filter(
        family=family, requested_by=actor, status=EmergencyUnblinding.Status.REQUESTED
    ).exists():
        raise Conflict("You have asked for this family's arm already.", field="family")
    reason = given(reason, ask="Say why the arm is needed (the safety reason).", field="reason")
    item = EmergencyUnblinding(
        family=family, requested_by=actor, requested_at=timezone.now(), reason=reason
    )
    stamp(item, actor=actor, reason=reason).save()
    _record(item, EventType.UNBLINDING_REQUESTED, actor, channel, held, {}, reason=reason)
    return item


def _for_update(item: EmergencyUnblinding) -> EmergencyUnblinding:
    return (
        EmergencyUnblinding.objects.select_for_update(of=("self",))
        .select_related("family__site", "family__trial", "requested_by")
        .get(pk=item.pk)
    )


@transaction.atomic(durable=True)
def unblinding_decide(
    *, item: EmergencyUnblinding, approve: bool, note: str, actor, channel: Channel
) -> EmergencyUnblinding:
    """A trial manager or the chief investigator approves or refuses, with a note."""
    item = _for_update(item)
    held = require_role(actor, roles=set(APPROVERS), trial=item.family.trial)
    if item.requested_by_id == actor.pk:
        raise NotPermitted("Someone else must approve your own request.")
    if item.status != EmergencyUnblinding.Status.REQUESTED:
        raise Conflict("This request has been decided already.", field="request")
    note = given(note, ask="Say why you approve or refuse it.", field="note")
    item.status = (
        EmergencyUnblinding.Status.APPROVED if approve else EmergencyUnblinding.Status.REFUSED
    )
    item.decided_by, item.decided_at, item.decision_note = actor, timezone.now(), note
    stamp(item, actor=actor, reason=note).save()
    _record(
        item,
        EventType.UNBLINDING_APPROVED if approve else EventType.UNBLINDING_REFUSED,
        actor,
        channel,
        held,
        {"status": [EmergencyUnblinding.Status.REQUESTED, item.status]},
        reason=note,
    )
    return item


@transaction.atomic(durable=True)
def unblinding_show(*, item: EmergencyUnblinding, actor, channel: Channel) -> tuple[str, str]:
    """The arm (key, label), once, to the person who asked, after approval. The ledger
    records that it was shown, not what it was."""
    item = _for_update(item)
    if item.requested_by_id != actor.pk:
        raise NotPermitted("The arm is shown only to the person who asked for it.")
    if item.status == EmergencyUnblinding.Status.SHOWN:
        raise Conflict(
            f"The arm was shown to you on {timezone.localtime(item.shown_at):%d %B %Y at %H:%M}"
            ": it is shown once.",
            field="request",
        )
    if item.status != EmergencyUnblinding.Status.APPROVED:
        raise Conflict("This request is not approved.", field="request")
    item.status, item.shown_at = EmergencyUnblinding.Status.SHOWN, timezone.now()
    stamp(item, actor=actor).save()
    held = roles_at(actor, item.family.site)
    _record(
        item,
        EventType.UNBLINDING_SHOWN,
        actor,
        channel,
        held,
        {"status": [EmergencyUnblinding.Status.APPROVED, item.status]},
        reason=item.reason,
    )
    _assessor_unblinded(item, actor, channel, held)
    unblinding_shown_notify(item=item)
    return arm_for_emergency_unblinding(item.family)


def _assessor_unblinded(item: EmergencyUnblinding, actor, channel, held) -> None:
    """An outcome assessor at the site who learns the arm is an 'assessor unblinded'
    deviation: they enter no more of the family's outcome forms."""
    if Role.OUTCOME_ASSESSOR not in held:
        return
    deviation_detected(
        family=item.family,
        kind="assessor_unblinded",
        severity="major",
        occurred_on=timezone.localdate(item.shown_at),
        description="An outcome assessor was shown the family's arm by emergency unblinding.",
        source="emergency_unblinding",
        source_key=f"unblinding:{item.pk}",
        actor=actor,
        channel=channel,
        person=actor,
    )

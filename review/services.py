"""Services of the audit trail itself: recording a verification, a review sign-off and
an export."""

import logging

from django.db import transaction
from django.db.models import Max

from audit.chain import Verification
from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent, ReviewSignoff
from core.channels import Channel
from core.errors import NotPermitted, TrialError
from core.roles import Role
from sites.models import Membership, Site
from sites.notifications import notify
from sites.selectors import open_memberships, roles_at

from .selectors import AUDIT_READERS, AUDIT_REVIEWERS, signoff_sites_of

log = logging.getLogger("audit")


@transaction.atomic(durable=True)
def verification_record(*, result: Verification, actor, channel: Channel) -> AuditEvent:
    """Record a verification run. Its event names the head it verified, so each run
    anchors the chain for the next; a failure also emails every trial manager."""
    who = "" if actor else f"system:{channel}"
    if result.intact:
        log.info(
            "audit ledger verified: %s events, head #%s %s",
            result.checked,
            result.last_seq,
            result.last_hash,
        )
        return record(
            event=EventType.AUDIT_VERIFIED,
            actor=actor,
            actor_username=who,
            channel=channel,
            changes={
                "verified_through": [None, result.last_seq],
                "head_hash": [None, result.last_hash],
            },
        )
    log.error("audit ledger verification FAILED at #%s: %s", result.broken_at, result.problem)
    event = record(
        event=EventType.AUDIT_VERIFY_FAILED,
        actor=actor,
        actor_username=who,
        channel=channel,
        changes={"broken_at": [None, result.broken_at], "problem": [None, result.problem]},
    )
    managers = sorted(
        set(
            Membership.objects.filter(role=Role.TRIAL_MANAGER, ends_on__isnull=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    subject = "AUDIT LEDGER VERIFICATION FAILED"
    body = (
        f"The nightly verification of the audit ledger found a broken link at event "
        f"#{result.broken_at}:\n\n{result.problem}\n\n{result.checked} events verified "
        "before it. Run `manage.py audit_verify` to see it again; treat the database as "
        "tampered with until this is explained."
    )
    notify(recipients=managers, subject=subject, body=body, site=None, actor=actor)
    return event


@transaction.atomic(durable=True)
def review_signoff(
    *, actor, channel: Channel, site: Site, first_seq: int, last_seq: int, note: str = ""
) -> ReviewSignoff:
    """A monitor (or the trial manager) signs off a range of a site's events as reviewed."""
    held = roles_at(actor, site) & AUDIT_REVIEWERS
    if not held or site.pk not in set(signoff_sites_of(actor).values_list("pk", flat=True)):
        raise NotPermitted(
            f"Only a monitor of {site.code} or the trial manager can sign off its audit events."
        )
    head = AuditEvent.objects.aggregate(last=Max("seq"))["last"] or 0
    if not 1 <= first_seq <= last_seq:
        raise TrialError(
            "The range must start at event 1 or later and end at or after its start.",
            field="first_seq",
        )
    if last_seq > head:
        raise TrialError(f"The ledger ends at event #{head}.", field="last_seq")
    signoff = ReviewSignoff(
        reviewer=actor, site=site, first_seq=first_seq, last_seq=last_seq, note=note.strip()
    )
    signoff._history_user = actor
    signoff.save()
    covered = AuditEvent.objects.filter(
        site_id=site.pk, seq__gte=first_seq, seq__lte=last_seq
    ).count()
    record(
        event=EventType.REVIEW_SIGNOFF,
        actor=actor,
        channel=channel,
        obj=signoff,
        site=site,
        changes={
            "first_seq": [None, first_seq],
            "last_seq": [None, last_seq],
            "events": [None, covered],
        },
        reason=note.strip(),
        actor_role=held,
    )
    return signoff


@transaction.atomic(durable=True)
def export_record(*, actor, channel: Channel, filters: dict, count_hint: str = "") -> AuditEvent:
    """Exports leave a trace: who took which events out, with which filters."""
    held = AUDIT_READERS & _roles(actor)
    if not held:
        raise NotPermitted(
            "Only a monitor, the trial manager or the chief investigator can export audit events."
        )
    return record(
        event=EventType.AUDIT_EXPORTED,
        actor=actor,
        channel=channel,
        changes={"filters": [None, filters]},
        reason=count_hint,
        actor_role=held,
    )


def _roles(user) -> set[str]:
    return set(open_memberships(user).values_list("role", flat=True))

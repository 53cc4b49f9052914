"""Services for a site's registration, details and status steps."""

import re
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction

from audit.events import EditAfter, EventType
from audit.history import stamp
from audit.ledger import diff, record, snapshot
from audit.reasons import require_reason
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError, refused_if_duplicate
from core.roles import Role
from outbox.services import enqueue

from .activation import ActivationWaiting, activation_checks
from .models import Site, SiteStatus, SiteStatusStep
from .permissions import require_role
from .selectors import open_memberships
from .tasks import notify_site_active

if TYPE_CHECKING:
    from trial.models import Trial

SITE_CODE = re.compile(r"[A-Z]{3}")
DETAIL_FIELDS = (
    "name",
    "nhs_trust",
    "local_authority",
    "recruitment_target",
    "principal_investigator",
)

# A site moves one step at a time, in this order.
NEXT_STATUS = {
    SiteStatus.PROPOSED: SiteStatus.APPROVED,
    SiteStatus.APPROVED: SiteStatus.ACTIVE,
    SiteStatus.ACTIVE: SiteStatus.CLOSED_TO_RECRUITMENT,
    SiteStatus.CLOSED_TO_RECRUITMENT: SiteStatus.CLOSED,
}


def _clean_text(value, field: str, label: str) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if not value:
        raise TrialError(f"{label} is required.", field=field)
    return value


def _clean_target(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise TrialError(
            "Recruitment target must be a whole number of families, 1 or more.",
            field="recruitment_target",
        )
    return value


def _check_pi(user, site: Site) -> None:
    held = open_memberships(user).filter(site=site, role=Role.PRINCIPAL_INVESTIGATOR)
    if not held.exists():
        raise TrialError(
            f"{user.get_username()} does not hold the principal investigator role at {site.code}; "
            "grant that role first.",
            field="principal_investigator",
        )


@transaction.atomic(durable=True)
def site_register(
    *,
    trial: "Trial",
    actor,
    channel: Channel,
    code: str,
    name: str,
    nhs_trust: str,
    local_authority: str,
    recruitment_target: int,
) -> Site:
    """Register a proposed site. Only the trial manager registers sites."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    code = (code or "").strip() if isinstance(code, str) else ""
    if not SITE_CODE.fullmatch(code):
        raise TrialError("Site code must be exactly 3 capital letters, e.g. BUC.", field="code")
    taken = f"A site with code {code} is already registered in this trial."
    if Site.objects.filter(trial=trial, code=code).exists():
        raise TrialError(taken, field="code")
    site = Site(
        trial=trial,
        code=code,
        name=_clean_text(name, "name", "Site name"),
        nhs_trust=_clean_text(nhs_trust, "nhs_trust", "NHS trust"),
        local_authority=_clean_text(local_authority, "local_authority", "Local authority"),
        recruitment_target=_clean_target(recruitment_target),
    )
    with refused_if_duplicate(taken, field="code"):
        stamp(site, actor=actor).save()
    record(
        event=EventType.CREATE,
        actor=actor,
        channel=channel,
        obj=site,
        site=site,
        changes=diff({}, snapshot(site, ("code", "status", *DETAIL_FIELDS))),
        actor_role=held,
    )
    return site


@transaction.atomic(durable=True)
def site_update(*, site: Site, actor, channel: Channel, reason: str = "", **changes) -> Site:
    """Change a site's details. The principal investigator must hold that role at the site;
    once the site is approved (its record complete), every change needs a reason."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=site.trial)
    unknown = set(changes) - set(DETAIL_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise TrialError(f"{field} cannot be changed here.", field=field)
    site = Site.objects.select_for_update().get(pk=site.pk)
    before = snapshot(site, DETAIL_FIELDS)
    labels = {"name": "Site name", "nhs_trust": "NHS trust", "local_authority": "Local authority"}
    for field, value in changes.items():
        if field in labels:
            value = _clean_text(value, field, labels[field])
        elif field == "recruitment_target":
            value = _clean_target(value)
        elif field == "principal_investigator" and value is not None:
            _check_pi(value, site)
        elif field == "principal_investigator" and site.status not in (
            SiteStatus.PROPOSED,
            SiteStatus.APPROVED,
        ):
            raise TrialError(
                "An active site must keep a principal investigator.", field="principal_investigator"
            )
        setattr(site, field, value)
    changed = diff(before, snapshot(site, DETAIL_FIELDS))
    if changed:
        after = None if site.status == SiteStatus.PROPOSED else EditAfter.COMPLETED
        reason = require_reason(
            reason, after=after, state=f"{site.code} is {site.get_status_display().lower()}"
        )
        stamp(site, actor=actor, reason=reason).save()
        record(
            event=EventType.UPDATE,
            actor=actor,
            channel=channel,
            obj=site,
            site=site,
            changes=changed,
            reason=reason,
            edit_after=after or "",
            actor_role=held,
        )
    return site


def _past_or_today(value: date | None, field: str, label: str) -> date | None:
    if value is not None and value > today():
        raise TrialError(f"{label} cannot be in the future.", field=field)
    return value


def site_move_status(
    *,
    site: Site,
    actor,
    channel: Channel,
    to_status: str,
    effective_date: date | None = None,
    ethics_approval_date: date | None = None,
    rnd_approval_date: date | None = None,
    note: str = "",
) -> Site:
    """Move a site one step along proposed → approved → active → closed to recruitment →
    closed. Approval needs both approval dates; activation needs a principal investigator
    and whatever the activation checks ask (`SITE_ACTIVATION_CHECKS`). A refusal that waits
    on someone else asks them, in a transaction of its own since the step's rolled back."""
    try:
        return _move_status(
            site=site,
            actor=actor,
            channel=channel,
            to_status=to_status,
            effective_date=effective_date,
            ethics_approval_date=ethics_approval_date,
            rnd_approval_date=rnd_approval_date,
            note=note,
        )
    except ActivationWaiting as waiting:
        if waiting.ask is not None:
            waiting.ask()
        raise


@transaction.atomic(durable=True)
def _move_status(
    *,
    site: Site,
    actor,
    channel: Channel,
    to_status: str,
    effective_date: date | None,
    ethics_approval_date: date | None,
    rnd_approval_date: date | None,
    note: str,
) -> Site:
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=site.trial)
    site = Site.objects.select_for_update().get(pk=site.pk)
    if to_status not in SiteStatus.values:
        raise TrialError(f"'{to_status}' is not a site status.", field="status")
    expected = NEXT_STATUS.get(site.status)
    if to_status != expected:
        if expected is None:
            raise Conflict(f"{site.code} is closed; it has no further status.", field="status")
        raise Conflict(
            f"{site.code} is {SiteStatus(site.status).label.lower()}; its next step is "
            f"{SiteStatus(expected).label.lower()}, not {SiteStatus(to_status).label.lower()}.",
            field="status",
        )
    effective = _past_or_today(effective_date, "effective_date", "The date of this step") or today()
    before = snapshot(site, ("status", "ethics_approval_date", "rnd_approval_date"))
    if to_status == SiteStatus.APPROVED:
        ethics = _past_or_today(
            ethics_approval_date, "ethics_approval_date", "Ethics approval date"
        )
        rnd = _past_or_today(rnd_approval_date, "rnd_approval_date", "R&D approval date")
        if ethics is None:
            raise TrialError(
                "Ethics approval date is required to approve a site.", field="ethics_approval_date"
            )
        if rnd is None:
            raise TrialError(
                "R&D approval date is required to approve a site.", field="rnd_approval_date"
            )
        if effective < max(ethics, rnd):
            raise TrialError(
                "A site cannot be approved before its approvals are dated.", field="effective_date"
            )
        site.ethics_approval_date, site.rnd_approval_date = ethics, rnd
    if to_status == SiteStatus.ACTIVE:
        if site.principal_investigator is None:
            raise TrialError(
                f"{site.code} has no principal investigator; set one before activating the site.",
                field="principal_investigator",
            )
        _check_pi(site.principal_investigator, site)
    for check in activation_checks():
        check.on_step(site, to_status=to_status, actor=actor, channel=channel)
    from_status = site.status
    site.status = to_status
    stamp(site, actor=actor, reason=note).save()
    step = SiteStatusStep(
        site=site,
        from_status=from_status,
        to_status=to_status,
        effective_date=effective,
        note=note.strip(),
        recorded_by=actor,
    )
    stamp(step, actor=actor, reason=note).save()
    changes = diff(before, snapshot(site, ("status", "ethics_approval_date", "rnd_approval_date")))
    changes["effective_date"] = [None, effective.isoformat()]
    record(
        event=EventType.SITE_STATUS,
        actor=actor,
        channel=channel,
        obj=site,
        site=site,
        changes=changes,
        reason=note.strip(),
        actor_role=held,
    )
    if to_status == SiteStatus.ACTIVE:
        site_id, actor_id = site.pk, actor.pk
        enqueue(notify_site_active, site_id, actor_id)
    return site

"""Services for roles (memberships) and the delegation log."""

from datetime import date
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from audit.events import EventType
from audit.history import stamp
from audit.ledger import diff, record, snapshot
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError, refused_if_duplicate
from core.roles import (
    ARM_READERS,
    BLINDED_ROLES,
    DELEGABLE_DUTIES,
    TRIAL_WIDE_ROLES,
    Duty,
    Role,
    with_article,
)

from .models import Delegation, Membership, Site
from .permissions import require_role

if TYPE_CHECKING:
    from trial.models import Trial

MEMBERSHIP_FIELDS = ("user", "trial", "site", "role", "starts_on", "ends_on")
DELEGATION_FIELDS = ("membership", "duty", "starts_on", "ends_on")


@transaction.atomic(durable=True)
def membership_grant(
    *,
    actor,
    channel: Channel,
    user,
    trial: "Trial",
    role: str,
    site: Site | None = None,
    starts_on: date | None = None,
) -> Membership:
    """Give a user a role at a site, or across the trial for trial-wide roles."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    if role not in Role.values:
        raise TrialError(f"'{role}' is not a role.", field="role")
    label = Role(role).label
    if role in TRIAL_WIDE_ROLES and site is not None:
        raise TrialError(
            f"{label} is held across the trial, not at one site; leave site empty.", field="site"
        )
    if role not in TRIAL_WIDE_ROLES and site is None:
        raise TrialError(f"{label} is held at a site; choose the site.", field="site")
    if site is not None and site.trial_id != trial.pk:
        raise TrialError(f"{site.code} is not a site of {trial}.", field="site")
    if not user.is_active:
        raise TrialError(f"{user.get_username()}'s account is disabled.", field="user")
    # Grants to one person are taken one at a time, so that two concurrent grants cannot
    # together make a blinded person an arm reader at the same site.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if conflict := _blinding_conflict(user=user, trial=trial, role=role, site=site):
        raise TrialError(conflict, field="role")
    open_same = Membership.objects.filter(
        user=user, trial=trial, site=site, role=role, ends_on__isnull=True
    )
    held = f"{user.get_username()} already holds {label} at {site.code if site else 'this trial'}."
    if open_same.exists():
        raise TrialError(held, field="role")
    membership = Membership(
        user=user,
        trial=trial,
        site=site,
        role=role,
        starts_on=starts_on or today(),
        granted_by=actor,
    )
    with refused_if_duplicate(held, field="role"):
        stamp(membership, actor=actor).save()
    record(
        event=EventType.MEMBERSHIP_GRANTED,
        actor=actor,
        channel=channel,
        obj=membership,
        site=site,
        changes=diff({}, snapshot(membership, MEMBERSHIP_FIELDS)),
        actor_role=held,
    )
    return membership


def _covering(trial: "Trial", site: Site | None):
    """Memberships whose place overlaps this one: at the same site, or trial-wide on
    either side (a trial-wide role is held at every site)."""
    where = Q(trial=trial)
    if site is not None:
        where &= Q(site=site) | Q(site__isnull=True)
    return Membership.objects.filter(where).select_related("site")


def _blinding_conflict(*, user, trial: "Trial", role: str, site: Site | None) -> str | None:
    """Why this grant would break a blind, if it would: a role that reads allocations for
    someone blinded at an overlapping place, or a blinded role for someone who reads (or has
    read) allocations there. Nobody can be both at one site, whichever is granted first."""
    name, label = user.get_username(), Role(role).label.lower()
    if role in ARM_READERS:
        blinded = (
            _covering(trial, site)
            .filter(user=user, role__in=BLINDED_ROLES)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today()))
            .order_by("pk")
            .first()
        )
        if blinded:
            where = blinded.site.code if blinded.site_id else "every site"
            return (
                f"{name} is {with_article(blinded.get_role_display().lower())} at {where}; "
                f"{with_article(label)} reads allocations there, so the grant would unblind "
                f"them. End the blinded role first, or grant this to someone else."
            )
    if role in BLINDED_ROLES:
        reader = (
            _covering(trial, site)
            .filter(user=user, role__in=ARM_READERS)
            .order_by("ends_on", "pk")
            .first()
        )
        if reader:
            where = reader.site.code if reader.site_id else "every site"
            held = "holds" if reader.ends_on is None or reader.ends_on >= today() else "has held"
            return (
                f"{name} {held} {reader.get_role_display().lower()} at {where}, which reads "
                f"allocations; someone who can see the arms cannot be {with_article(label)} there."
            )
    return None


@transaction.atomic(durable=True)
def membership_end(
    *,
    membership: Membership,
    actor,
    channel: Channel,
    ends_on: date | None = None,
    reason: str = "",
) -> Membership:
    """End a role on a date; the duties delegated under it end the same day. The record stays."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=membership.trial)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.ends_on is not None:
        raise Conflict(
            f"This role already ended on {membership.ends_on:%d %b %Y}.", field="ends_on"
        )
    ends_on = ends_on or today()
    if ends_on < membership.starts_on:
        raise TrialError("A role cannot end before it started.", field="ends_on")
    if membership.role == Role.TRIAL_MANAGER:
        others = Membership.objects.filter(
            trial=membership.trial, role=Role.TRIAL_MANAGER, ends_on__isnull=True
        ).exclude(pk=membership.pk)
        if not others.exists():
            raise Conflict("The trial must keep at least one trial manager.", field="role")
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    membership.ends_on = ends_on
    stamp(membership, actor=actor, reason=reason).save()
    record(
        event=EventType.MEMBERSHIP_ENDED,
        actor=actor,
        channel=channel,
        obj=membership,
        site=membership.site,
        changes=diff(before, snapshot(membership, MEMBERSHIP_FIELDS)),
        reason=reason,
        actor_role=held,
    )
    for delegation in (
        membership.delegations.select_for_update().filter(ends_on__isnull=True).order_by("pk")
    ):
        _end_delegation(
            delegation,
            actor=actor,
            actor_role=held,
            channel=channel,
            ends_on=max(ends_on, delegation.starts_on),
            reason=reason or "role ended",
        )
    return membership


@transaction.atomic(durable=True)
def delegation_grant(
    *,
    membership: Membership,
    duty: str,
    actor,
    channel: Channel,
    starts_on: date | None = None,
) -> Delegation:
    """Delegate a duty under a membership: by the trial manager, or the site's principal
    investigator for their own site's staff."""
    site = membership.site
    held = require_role(
        actor,
        roles={Role.TRIAL_MANAGER, Role.PRINCIPAL_INVESTIGATOR},
        site=site,
        trial=membership.trial,
    )
    if duty not in Duty.values:
        raise TrialError(f"'{duty}' is not a duty.", field="duty")
    if duty not in DELEGABLE_DUTIES[membership.role]:
        raise TrialError(
            f"{with_article(Role(membership.role).label.lower()).capitalize()} cannot be delegated "
            f"'{Duty(duty).label.lower()}'.",
            field="duty",
        )
    starts_on = starts_on or today()
    if membership.ends_on is not None and membership.ends_on < starts_on:
        raise TrialError(
            "That role has ended; a duty cannot be delegated under it.", field="membership"
        )
    if starts_on < membership.starts_on:
        raise TrialError(
            "A duty cannot start before the role it is delegated under.", field="starts_on"
        )
    delegated = f"'{Duty(duty).label}' is already delegated under this role."
    if Delegation.objects.filter(membership=membership, duty=duty, ends_on__isnull=True).exists():
        raise TrialError(delegated, field="duty")
    delegation = Delegation(membership=membership, duty=duty, starts_on=starts_on, granted_by=actor)
    with refused_if_duplicate(delegated, field="duty"):
        stamp(delegation, actor=actor).save()
    record(
        event=EventType.DELEGATION_GRANTED,
        actor=actor,
        channel=channel,
        obj=delegation,
        site=site,
        changes=diff({}, snapshot(delegation, DELEGATION_FIELDS)),
        actor_role=held,
    )
    return delegation


def _end_delegation(
    delegation: Delegation, *, actor, actor_role, channel: Channel, ends_on: date, reason: str
) -> Delegation:
    before = snapshot(delegation, DELEGATION_FIELDS)
    delegation.ends_on = ends_on
    stamp(delegation, actor=actor, reason=reason).save()
    record(
        event=EventType.DELEGATION_ENDED,
        actor=actor,
        channel=channel,
        obj=delegation,
        site=delegation.membership.site,
        changes=diff(before, snapshot(delegation, DELEGATION_FIELDS)),
        reason=reason,
        actor_role=actor_role,
    )
    return delegation


@transaction.atomic(durable=True)
def delegation_end(
    *,
    delegation: Delegation,
    actor,
    channel: Channel,
    ends_on: date | None = None,
    reason: str = "",
) -> Delegation:
    """End a delegated duty on a date; the log keeps the line."""
    membership = delegation.membership
    held = require_role(
        actor,
        roles={Role.TRIAL_MANAGER, Role.PRINCIPAL_INVESTIGATOR},
        site=membership.site,
        trial=membership.trial,
    )
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    if delegation.ends_on is not None:
        raise Conflict(
            f"This duty already ended on {delegation.ends_on:%d %b %Y}.", field="ends_on"
        )
    ends_on = ends_on or today()
    if ends_on < delegation.starts_on:
        raise TrialError("A duty cannot end before it started.", field="ends_on")
    return _end_delegation(
        delegation, actor=actor, actor_role=held, channel=channel, ends_on=ends_on, reason=reason
    )

"""Checks a service makes before it acts: the actor's role, and a duty delegated on a date."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Exists, OuterRef, Q

from core.errors import NotPermitted
from core.roles import Duty, Role, with_article

from .models import Delegation, Site
from .selectors import open_memberships, roles_at


def _refuse_role(roles: set[str], site: Site | None) -> NotPermitted:
    labels = sorted(Role(r).label.lower() for r in roles)
    names = " or ".join(with_article(label) for label in labels)
    where = f" at {site.code}" if site is not None else ""
    return NotPermitted(f"Only {names}{where} can do this.")


def _refuse_duty(actor, site: Site, duty: Duty | str, on: date) -> NotPermitted:
    return NotPermitted(
        f"{actor.get_username()} was not delegated the duty '{Duty(duty).label}' "
        f"at {site.code} on {on:%d %b %Y}."
    )


def require_role(actor, *, roles: Iterable[str], site: Site | None = None, trial=None) -> set[str]:
    roles = set(roles)
    held = roles_at(actor, site, trial=trial) & roles
    if not held:
        raise _refuse_role(roles, site)
    return held


def require_duty(actor, *, site: Site, duty: Duty | str, on: date) -> Delegation:
    """The delegation that covers the act: the duty delegated to the actor at that site,
    open on the date of the act (not the date it is entered)."""
    memberships = open_memberships(actor, on=on).filter(site=site)
    delegation = (
        _delegations(duty, on)
        .filter(membership__in=memberships)
        # The membership comes along: its role is what the ledger records the act in.
        .select_related("membership")
        .first()
    )
    if delegation is None:
        raise _refuse_duty(actor, site, duty, on)
    return delegation


def _delegations(duty: Duty | str, on: date):
    return Delegation.objects.filter(duty=duty, starts_on__lte=on).exclude(ends_on__lt=on)


def require_role_and_duty(
    actor, *, roles: Iterable[str], site: Site, duty: Duty | str, on: date
) -> set[str]:
    """`require_role` at the site and then `require_duty` there on `on`, from one read of the
    actor's memberships: the roles held (refused as `require_role` refuses when none), and
    the duty delegated under a membership at the site itself."""
    roles = set(roles)
    rows = list(
        open_memberships(actor, on=on)
        .filter(Q(site=site) | Q(site__isnull=True, trial_id=site.trial_id))
        .annotate(delegated=Exists(_delegations(duty, on).filter(membership=OuterRef("pk"))))
        .values_list("role", "site_id", "delegated")
    )
    held = {role for role, _, _ in rows} & roles
    if not held:
        raise _refuse_role(roles, site)
    if not any(delegated and site_id == site.pk for _, site_id, delegated in rows):
        raise _refuse_duty(actor, site, duty, on)
    return held

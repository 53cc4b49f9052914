"""Checks a service makes before it acts: the actor's role, and a duty delegated on a date."""

from collections.abc import Iterable
from datetime import date

from core.errors import NotPermitted
from core.roles import Duty, Role, with_article

from .models import Delegation, Site
from .selectors import open_memberships, roles_at


def require_role(actor, *, roles: Iterable[str], site: Site | None = None, trial=None) -> set[str]:
    roles = set(roles)
    held = roles_at(actor, site, trial=trial) & roles
    if not held:
        labels = sorted(Role(r).label.lower() for r in roles)
        names = " or ".join(with_article(label) for label in labels)
        where = f" at {site.code}" if site is not None else ""
        raise NotPermitted(f"Only {names}{where} can do this.")
    return held


def require_duty(actor, *, site: Site, duty: Duty | str, on: date) -> Delegation:
    """The delegation that covers the act: the duty delegated to the actor at that site,
    open on the date of the act (not the date it is entered)."""
    memberships = open_memberships(actor, on=on).filter(site=site)
    delegation = (
        Delegation.objects.filter(membership__in=memberships, duty=duty, starts_on__lte=on)
        .exclude(ends_on__lt=on)
        .first()
    )
    if delegation is None:
        raise NotPermitted(
            f"{actor.get_username()} was not delegated the duty '{Duty(duty).label}' "
            f"at {site.code} on {on:%d %b %Y}."
        )
    return delegation

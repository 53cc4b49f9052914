"""Who may learn an arm. Blinded roles never do, wherever else they hold roles at that site."""

from django.db.models import Q

from core.roles import ARM_READERS, BLINDED_ROLES
from sites.selectors import open_memberships, roles_at


def may_see_arm(user, site) -> bool:
    roles = roles_at(user, site)
    return bool(roles & ARM_READERS) and not roles & BLINDED_ROLES


def is_blinded(user, site=None, trial=None) -> bool:
    return bool(roles_at(user, site, trial=trial) & BLINDED_ROLES)


def blinded_within(user, trial, site=None) -> bool:
    """Whether the user is blinded anywhere a record of this scope covers: at the site, or,
    for a trial-wide record (site None), at any site of the trial or trial-wide."""
    held = open_memberships(user).filter(trial=trial, role__in=BLINDED_ROLES)
    if site is not None:
        held = held.filter(Q(site=site) | Q(site__isnull=True))
    return held.exists()

"""Who may learn an arm. Blinded roles never do, wherever else they hold roles at that site."""

from sites.roles import ARM_READERS, BLINDED_ROLES
from sites.selectors import roles_at


def may_see_arm(user, site) -> bool:
    roles = roles_at(user, site)
    return bool(roles & ARM_READERS) and not roles & BLINDED_ROLES


def is_blinded(user, site=None, trial=None) -> bool:
    return bool(roles_at(user, site, trial=trial) & BLINDED_ROLES)

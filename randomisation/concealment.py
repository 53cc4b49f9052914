"""Who may learn an arm. Blinded roles never do, wherever else they hold roles at that site."""

from sites.roles import Role
from sites.selectors import roles_at

BLINDED_ROLES = frozenset({Role.OUTCOME_ASSESSOR, Role.STATISTICIAN_BLINDED})
ARM_READERS = frozenset(
    {
        Role.SITE_COORDINATOR,
        Role.PRINCIPAL_INVESTIGATOR,
        Role.MONITOR,
        Role.TRIAL_MANAGER,
        Role.STATISTICIAN_UNBLINDED,
    }
)


def may_see_arm(user, site) -> bool:
    roles = roles_at(user, site)
    return bool(roles & ARM_READERS) and not roles & BLINDED_ROLES


def is_blinded(user, site=None, trial=None) -> bool:
    return bool(roles_at(user, site, trial=trial) & BLINDED_ROLES)

"""Roles a user may hold, where each may be held, and the duties each may be delegated."""

from django.db import models


class Role(models.TextChoices):
    TRIAL_MANAGER = "trial_manager", "Trial manager"
    SITE_COORDINATOR = "site_coordinator", "Site coordinator"
    OUTCOME_ASSESSOR = "outcome_assessor", "Outcome assessor (blinded)"
    MONITOR = "monitor", "Monitor"
    STATISTICIAN_BLINDED = "statistician_blinded", "Statistician (blinded)"
    STATISTICIAN_UNBLINDED = "statistician_unblinded", "Statistician (unblinded)"
    PRINCIPAL_INVESTIGATOR = "principal_investigator", "Principal investigator"
    CHIEF_INVESTIGATOR = "chief_investigator", "Chief investigator"


class Duty(models.TextChoices):
    TAKE_CONSENT = "take_consent", "Take consent"
    RANDOMISE = "randomise", "Randomise"
    ENTER_DATA = "enter_data", "Enter data"
    SIGN = "sign", "Sign casebooks"


# Held for the whole trial (no site) versus held at one site.
TRIAL_WIDE_ROLES = frozenset(
    {
        Role.TRIAL_MANAGER,
        Role.STATISTICIAN_BLINDED,
        Role.STATISTICIAN_UNBLINDED,
        Role.CHIEF_INVESTIGATOR,
    }
)
SITE_ROLES = frozenset(set(Role) - TRIAL_WIDE_ROLES)

# Duties a role may be delegated: GCP's delegation log records which were, and when.
DELEGABLE_DUTIES: dict[str, frozenset[str]] = {
    Role.SITE_COORDINATOR: frozenset({Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA}),
    Role.PRINCIPAL_INVESTIGATOR: frozenset(
        {Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA, Duty.SIGN}
    ),
    Role.OUTCOME_ASSESSOR: frozenset({Duty.ENTER_DATA}),
    Role.TRIAL_MANAGER: frozenset(),
    Role.MONITOR: frozenset(),
    Role.STATISTICIAN_BLINDED: frozenset(),
    Role.STATISTICIAN_UNBLINDED: frozenset(),
    Role.CHIEF_INVESTIGATOR: frozenset(),
}

# Roles that see each site's operational pages (staff lists, status) at their sites.
SITE_READERS = frozenset(Role)

# Blinded roles never learn an arm, whatever else the same person holds at that site.
BLINDED_ROLES = frozenset({Role.OUTCOME_ASSESSOR, Role.STATISTICIAN_BLINDED})
# Roles that read allocations (the arm) at the sites where they are held.
ARM_READERS = frozenset(
    {
        Role.SITE_COORDINATOR,
        Role.PRINCIPAL_INVESTIGATOR,
        Role.MONITOR,
        Role.TRIAL_MANAGER,
        Role.STATISTICIAN_UNBLINDED,
        # Reviews each SAE's relatedness to the intervention, which can tell the arm.
        Role.CHIEF_INVESTIGATOR,
    }
)
# Roles that see a family's identifying data (names, NHS numbers) at their sites.
IDENTITY_READERS = frozenset({Role.SITE_COORDINATOR})
# Roles that must pass a second factor at sign-in: every role that can see identity or an arm.
# The rest are offered it, and once enrolled are asked for it too.
SECOND_FACTOR_ROLES = ARM_READERS | IDENTITY_READERS


def with_article(label: str) -> str:
    """'a monitor', 'an outcome assessor': the indefinite article a label needs."""
    return f"{'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"

"""Who sees which freezes and locks, and who reads the lock-readiness report."""

from django.db.models import Q, QuerySet

from core.roles import BLINDED_ROLES, Role
from lock.models import DataLock, Freeze
from randomisation.concealment import blinded_sites, deviations_shown_to
from sites.selectors import open_memberships, roles_at, sites_visible_to
from trial.models import ProtocolDeviation, Trial
from trial.selectors import families_visible_to, trials_visible_to

from .models import AnalysisPlan, Export

# The report lists every site's outstanding work: for those who answer for the whole trial.
STATISTICIAN_ROLES = {Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}
READINESS_READERS = {
    Role.TRIAL_MANAGER,
    Role.STATISTICIAN_BLINDED,
    Role.STATISTICIAN_UNBLINDED,
}


def may_read_readiness(user, trial: Trial) -> bool:
    return bool(roles_at(user, None, trial=trial) & READINESS_READERS)


def locks_visible_to(user) -> QuerySet[DataLock]:
    """The locks of the trials the user takes part in: everyone who enters data needs to
    know that it is locked."""
    return DataLock.objects.filter(trial__in=trials_visible_to(user)).select_related(
        "trial", "locked_by", "unlock_requested_by", "unlocked_by"
    )


def freezes_visible_to(user) -> QuerySet[Freeze]:
    """The freezes at the sites the user can see, leaving out freezes of one arm-revealing
    form at sites where the user is blinded (that such a form exists can tell the arm)."""
    return (
        Freeze.objects.filter(site__in=sites_visible_to(user))
        .exclude(
            scope=Freeze.Scope.RESPONSE,
            response__definition__reveals_arm=True,
            site__in=blinded_sites(user),
        )
        .select_related("site", "family", "response", "frozen_by", "released_by")
    )


def plans_visible_to(user) -> QuerySet[AnalysisPlan]:
    """The analysis plans of the trials the user answers for as a whole."""
    trials = (
        open_memberships(user)
        .filter(site__isnull=True, role__in=READINESS_READERS)
        .values("trial_id")
    )
    return AnalysisPlan.objects.filter(trial_id__in=trials).select_related("trial", "recorded_by")


def deviations_visible_to(user):
    """Deviations of the families the user can see, as the concealment policy shows them."""
    return deviations_shown_to(
        user, ProtocolDeviation.objects.filter(family__in=families_visible_to(user))
    ).select_related("family__site", "recorded_by", "reviewed_by", "person")


def exports_visible_to(user) -> QuerySet[Export]:
    """The exports of the trials where the user is a statistician for the whole trial; an
    unblinded one only for an unblinded statistician who holds no blinded role there."""
    held = open_memberships(user).filter(site__isnull=True)
    statistician = held.filter(role__in=STATISTICIAN_ROLES).values("trial_id")
    unblinded = held.filter(role=Role.STATISTICIAN_UNBLINDED).values("trial_id")
    blinded = open_memberships(user).filter(role__in=BLINDED_ROLES).values("trial_id")
    return (
        Export.objects.filter(trial_id__in=statistician)
        .filter(Q(blinded=True) | (Q(trial_id__in=unblinded) & ~Q(trial_id__in=blinded)))
        .select_related("trial", "lock", "plan", "requested_by")
    )

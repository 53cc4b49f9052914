from django.db.models import Count, QuerySet

from core.roles import Role
from sites.selectors import open_memberships
from trial.selectors import families_visible_to

from .concealment import allocations_shown_to
from .models import Allocation, RandomisationList


def allocations_visible_to(user) -> QuerySet[Allocation]:
    """Allocations of the families the user can see, each shaped by the concealment policy:
    `shown_arm` is the arm where the user may learn it, else None."""
    allocations = Allocation.objects.filter(family__in=families_visible_to(user)).select_related(
        "family__site", "stratum", "randomised_by"
    )
    return allocations_shown_to(user, allocations)


def lists_visible_to(user) -> QuerySet[RandomisationList]:
    """List metadata (digests, strata, use) for the unblinded statistician and the trial
    manager, each list with its number of strata and of slots used; the arms in a list are
    shown to no one."""
    trials = (
        open_memberships(user)
        .filter(role__in=[Role.STATISTICIAN_UNBLINDED, Role.TRIAL_MANAGER], site__isnull=True)
        .values("trial_id")
    )
    return (
        RandomisationList.objects.filter(trial_id__in=trials)
        .annotate(
            strata_count=Count("strata", distinct=True),
            slots_used=Count("strata__allocations", distinct=True),
        )
        .order_by(*RandomisationList._meta.ordering, "pk")  # a grouped query drops Meta's
    )


def is_unblinded_statistician(user, trial) -> bool:
    return open_memberships(user).filter(trial=trial, role=Role.STATISTICIAN_UNBLINDED).exists()

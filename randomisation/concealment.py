"""The one concealment policy: who may learn a family's arm, and the records shaped for them.

A viewer learns an arm at a site where they hold a role that reads allocations and no
blinded role (a trial-wide role counts at every site). Blinded roles never learn it, whatever
else the same person holds there. Nothing outside this module reads an allocation's arm:
selectors hand out records already shaped (`shown_arm` present or None), and the audit
review, the eCRF and the emails ask this module where the viewer is blinded.
"""

from dataclasses import dataclass

from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Value, When

from core.roles import ARM_READERS, BLINDED_ROLES
from sites.models import Site
from sites.selectors import open_memberships, sites_where
from trial.config import config_of
from trial.models import ProtocolDeviation

from .models import Allocation


@dataclass(frozen=True)
class Blindness:
    """Where a viewer is blinded: the sites of their blinded site roles, or everywhere for a
    trial-wide blinded role (which also covers records of no site)."""

    site_ids: frozenset[int] = frozenset()
    everywhere: bool = False

    def __bool__(self) -> bool:
        return self.everywhere or bool(self.site_ids)

    def covers(self, site_id: int | None) -> bool:
        if self.everywhere:
            return True
        # A record of no site may concern any site, so any blinded role covers it.
        return bool(self.site_ids) if site_id is None else site_id in self.site_ids

    def q(self, field: str = "site_id") -> Q:
        """The records at the places this viewer is blinded, as a query condition."""
        if self.everywhere:
            return Q()
        return Q(**{f"{field}__in": sorted(self.site_ids)}) | Q(**{f"{field}__isnull": True})


def blindness_of(user) -> Blindness:
    held = open_memberships(user).filter(role__in=BLINDED_ROLES).values_list("site_id", flat=True)
    sites = set(held)
    return Blindness(
        site_ids=frozenset(s for s in sites if s is not None), everywhere=None in sites
    )


def blinded_sites(user) -> QuerySet[Site]:
    """The sites where forms and arms are hidden from the user."""
    return sites_where(user, roles=BLINDED_ROLES)


def arm_sites(user) -> QuerySet[Site]:
    """The sites where the user may learn arms."""
    return sites_where(user, roles=ARM_READERS).exclude(pk__in=blinded_sites(user).values("pk"))


def may_see_arm(user, site) -> bool:
    return arm_sites(user).filter(pk=site.pk).exists()


def blinded_within(user, trial, site=None) -> bool:
    """Whether the user is blinded anywhere a record of this scope covers: at the site, or,
    for a trial-wide record (site None), at any site of the trial or trial-wide."""
    held = open_memberships(user).filter(trial=trial, role__in=BLINDED_ROLES)
    if site is not None:
        held = held.filter(Q(site=site) | Q(site__isnull=True))
    return held.exists()


def allocations_shown_to(viewer, allocations: QuerySet[Allocation]) -> QuerySet[Allocation]:
    """The allocations with `shown_arm`: the arm where the viewer may learn it, else None.
    One query for the whole list, whatever its length."""
    return allocations.annotate(
        shown_arm=Case(
            When(family__site__in=arm_sites(viewer), then=F("arm")),
            default=Value(None),
        )
    )


def families_shown_to(viewer, families: QuerySet) -> QuerySet:
    """The families with their allocation in the trial's current mode, as the viewer may see
    it: `allocation_id`, `allocation_mode`, `randomised_at`, and `shown_arm` (None where the
    arm is concealed from them, or there is no allocation)."""
    current = Allocation.objects.filter(
        family=OuterRef("pk"), mode=OuterRef("trial__randomisation_mode")
    )
    return families.annotate(
        allocation_id=Subquery(current.values("pk")[:1]),
        allocation_mode=Subquery(current.values("mode")[:1]),
        randomised_at=Subquery(current.values("randomised_at")[:1]),
        shown_arm=Case(
            When(site__in=arm_sites(viewer), then=Subquery(current.values("arm")[:1])),
            default=Value(None),
        ),
    )


def deviations_shown_to(viewer, deviations: QuerySet) -> QuerySet:
    """Protocol deviations less those whose kind can tell the arm (contamination, an
    assessor unblinded) at sites where the viewer is blinded."""
    return deviations.exclude(
        kind__in=ProtocolDeviation.REVEALS_ARM, family__site__in=blinded_sites(viewer)
    )


def told_arm(allocation: Allocation, people: list) -> tuple[str, list]:
    """The allocation's arm, and which of these people may be told it (for an email)."""
    site = allocation.family.site
    return allocation.arm, [person for person in people if may_see_arm(person, site)]


def arms_for_unblinded_analysis(trial, *, mode: str, randomised_before) -> dict[int, str]:
    """Every family's arm, for an unblinded analysis export only: the export service has
    checked that the trial is locked, the plan final and the requester unblinded."""
    return dict(
        Allocation.objects.filter(
            family__trial=trial, mode=mode, randomised_at__lte=randomised_before
        ).values_list("family_id", "arm")
    )


def arm_for_emergency_unblinding(family) -> tuple[str, str]:
    """The family's arm (key, label) for an emergency unblinding: the safety service has
    checked that the request was approved by someone else and is shown once, to the one
    person who made it."""
    allocation = Allocation.objects.filter(family=family).order_by("-randomised_at").first()
    if allocation is None:
        return "", ""
    return allocation.arm, config_of(family.trial).randomisation.arms.get(
        allocation.arm, allocation.arm
    )

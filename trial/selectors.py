from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from core.errors import NotPermitted, TrialError
from core.roles import Role
from sites.selectors import open_memberships, sites_visible_to

from .models import Family, ScreeningRecord, Trial


def trials_visible_to(user) -> QuerySet[Trial]:

    return Trial.objects.filter(pk__in=open_memberships(user).values("trial_id"))


def trial_named(user, code: str | None) -> Trial:
    """The trial a request means: the one named by code, or the user's only trial."""
    trials = trials_visible_to(user)
    if code:
        trial = trials.filter(code=code).first()
        if trial is None:
            raise TrialError(f"No trial {code} that you take part in.", field="trial")
        return trial
    found = list(trials[:2])
    if not found:
        raise NotPermitted("You hold no role in any trial.")
    if len(found) != 1:
        raise TrialError("Name the trial (its code).", field="trial")
    return found[0]


def families_visible_to(user) -> QuerySet:
    """Families at the sites the user can see. Identifying data is not part of this: see
    may_see_identity."""

    return Family.objects.filter(site__in=sites_visible_to(user)).select_related("site", "trial")


def screenings_visible_to(user) -> QuerySet:

    return ScreeningRecord.objects.filter(site__in=sites_visible_to(user)).select_related(
        "site", "trial"
    )


def may_see_identity(user, site) -> bool:
    """Only the coordinators of the family's own site: not trial-wide roles, not monitors,
    not assessors, not the PI."""

    return open_memberships(user).filter(site=site, role=Role.SITE_COORDINATOR).exists()


def with_records(families: Iterable[Family], *relations: str) -> list[Family]:
    """The families as a list, each given its trial (each trial read once) and the records
    of the named reverse relations ("allocations", "consents", "withdrawals"), one query a
    relation, where `family.<relation>.all()` finds them. This is what select_related and
    prefetch_related do, without decoding the whole trial definition once per family and
    without the queryset prefetch_related builds for every family (a fifth of a second for a
    few hundred families)."""
    families = list(families)
    trials = Trial.objects.in_bulk({f.trial_id for f in families})
    ids = [f.pk for f in families]
    found: dict[str, dict[int, list]] = {}
    for name in relations:
        relation = Family._meta.get_field(name)
        rows: dict[int, list] = defaultdict(list)
        model = relation.related_model
        # Their own order, by the family's id: ordering by "family" would join the family
        # and its site to sort by the family's own order, for nothing (they are grouped here).
        order = ["family_id" if key == "family" else key for key in model._meta.ordering]
        for record in model.objects.filter(family_id__in=ids).order_by(*order):
            rows[record.family_id].append(record)
        found[name] = rows
    for family in families:
        family.trial = trials[family.trial_id]
        cache = family.__dict__.setdefault("_prefetched_objects_cache", {})
        for name, rows in found.items():
            cache[name] = rows[family.pk]
    return families

"""The forms due at the sites a person sees, as the forms page lists them: overdue first,
then by family, visit and form, counted and paged.

Working them out is the collection rule over every family (`outstanding_forms`): seconds for
a trial of 20,000 families. So each site's list is kept between views while the site's data
stand as they were (sites.kept), every form with whether it reveals the arm, and a viewer's
list is made from the kept ones: the forms that reveal the arm left out at the sites where
the viewer is blinded, the search applied, the sites' sorted lists merged, and only the page
shown made into objects."""

import heapq
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from itertools import islice
from typing import NamedTuple, overload

from core.clock import today
from randomisation.concealment import blinded_sites
from sites.kept import kept_by_site
from sites.models import Site
from sites.selectors import sites_visible_to
from trial.models import Family, Trial

from .selectors import Outstanding, current_definitions, outstanding_forms, schedule_of

# Changed whenever what a site's kept list holds changes.
KEPT_AS = 1


class Due(NamedTuple):
    """One form due, in the list's order: overdue first (`later` is False), then by family,
    the visit's day in the schedule and the form."""

    later: bool
    identifier: str
    day: int
    form: str
    visit: str
    family_id: int
    latest: date | None
    reveals_arm: bool


# Where a kept tuple holds what a viewer's list is filtered by.
IDENTIFIER, REVEALS_ARM = Due._fields.index("identifier"), Due._fields.index("reveals_arm")


def _due_at(sites: tuple[Site, ...], day: date) -> dict[int, tuple[tuple, ...]]:
    """Every form due at each of the sites on the day, sorted, by site id: each as the
    fields of a `Due` in a plain tuple (a tenth of the time to read back from the cache)."""
    found: dict[int, list[tuple]] = defaultdict(list)
    for o in outstanding_forms(Family.objects.filter(site__in=sites), on=day):
        found[o.family.site_id].append(
            (
                not o.overdue,
                o.family.identifier,
                o.visit.day,
                o.form,
                o.visit.key,
                o.family.pk,
                o.latest,
                o.reveals_arm,
            )
        )
    return {site.pk: tuple(sorted(found[site.pk])) for site in sites}


def _kept_due(sites: Sequence[Site], day: date) -> dict[int, tuple[tuple, ...]]:
    """Each site's forms due, by site id: kept ones while the site's data stand, the others
    worked out (sites of one trial at a time: what is due follows the trial's definition)."""
    by_trial: dict[int, list[Site]] = defaultdict(list)
    for site in sites:
        by_trial[site.trial_id].append(site)
    # Each trial read once, not with every site (its definition is the largest row).
    trials = Trial.objects.in_bulk(list(by_trial))
    lists: dict[int, tuple[tuple, ...]] = {}
    for trial_id, group in by_trial.items():
        trial = trials[trial_id]
        given = (
            KEPT_AS,
            trial.pk,
            trial.definition_sha256,
            trial.randomisation_mode,
            day,
            tuple(sorted((k, d.pk) for k, d in current_definitions(trial).items())),
        )
        lists.update(kept_by_site(group, "forms_due", given, lambda s: _due_at(s, day)))
    return lists


class FormsDue(Sequence[Outstanding]):
    """A viewer's forms due: its length and `overdue` are counted from the sites' lists; a
    slice (what a page shows) merges them in order and reads only its families."""

    def __init__(self, lists: list[tuple[tuple, ...]] | list[list[tuple]]):
        self._lists = lists
        self._length = sum(len(each) for each in lists)
        # Each list is sorted, overdue first: its overdue forms are those before the first
        # form that is not.
        self.overdue = sum(bisect_left(each, (True,)) for each in lists)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Outstanding: ...

    @overload
    def __getitem__(self, index: slice) -> list[Outstanding]: ...

    def __getitem__(self, index):
        if isinstance(index, int):
            at = index + self._length if index < 0 else index
            if not 0 <= at < self._length:
                raise IndexError(index)
            return self[at : at + 1][0]
        start, stop, step = index.indices(self._length)
        if step != 1:
            return list(self)[index]
        shown = islice(heapq.merge(*self._lists), start, stop)
        return _outstanding([Due._make(each) for each in shown])

    def __iter__(self):
        return iter(self[0 : self._length])


def _outstanding(due: list[Due]) -> list[Outstanding]:
    """The forms as the page shows them: each with its family, visit and form title."""
    families = Family.objects.select_related("site", "trial").in_bulk({d.family_id for d in due})
    plans: dict[int, tuple[dict, dict]] = {}
    found = []
    for d in due:
        family = families[d.family_id]
        if family.trial_id not in plans:
            trial: Trial = family.trial
            visits = {v.key: v for v in schedule_of(trial).visits}
            plans[family.trial_id] = (visits, current_definitions(trial))
        visits, definitions = plans[family.trial_id]
        found.append(
            Outstanding(
                family,
                visits[d.visit],
                d.form,
                definitions[d.form].title,
                d.latest,
                not d.later,
                d.reveals_arm,
            )
        )
    return found


def forms_due(user, *, on: date | None = None, search: str = "") -> FormsDue:
    """The forms due at the sites the user sees, on a day (today by default), of the
    families whose identifier holds `search` (any case): those that would reveal the arm
    left out at the sites where the user is blinded."""
    day = on or today()
    sites = list(sites_visible_to(user).order_by("code"))
    blinded = set(blinded_sites(user).values_list("pk", flat=True)) if sites else set()
    wanted = search.casefold()
    lists = []
    for site_id, due in _kept_due(sites, day).items():
        hidden = site_id in blinded
        if hidden or wanted:
            due = [
                d
                for d in due
                if not (hidden and d[REVEALS_ARM]) and wanted in d[IDENTIFIER].casefold()
            ]
        lists.append(due)
    return FormsDue(lists)


def keep_forms_due(trial: Trial, *, on: date | None = None) -> None:
    """Work out every site's forms due for the day and keep them: run just after midnight
    (the day is part of what is kept), so that the day's first viewers find them. With a
    cache shared by the web workers (CACHE_URL) only."""
    _kept_due(list(Site.objects.filter(trial=trial)), on or today())

"""Recruitment: per site and for all the sites in scope, month by month, referrals (screening
records by referral date), eligible (those found eligible, by referral month), consented
(families by the date of their first consent record) and randomised (allocations of the
trial's current mode by the local date of randomisation); families randomised so far
against the definition's recruitment plan; the date the target would be reached at the
recent rate; and the days from referral to randomisation.

Always pooled over the arms: nothing here reads an arm. The date range narrows the months
and counts shown; the running totals count every family randomised before a month's end (a
target is a running total), and progress and the projection are as at today.

Queries are bounded whatever the number of families or sites: one GROUP BY each for
referrals, first consents (a consent with none earlier for the family: an anti-join, not a
subquery per family) and randomisations, one count of families by site and days waited, one
count of the trial's sites, and one read of the sites' marks. Each site's counts are kept
between views while its data stand as they were (sites.kept): a view after a change at one
site counts that site again, not all."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cached_property

from django.db.models import Count, DateField, Exists, F, OuterRef, Q
from django.db.models.functions import Cast, TruncDate, TruncMonth

from randomisation.models import Allocation
from sites.kept import kept_by_site
from sites.models import Site
from trial.models import ConsentRecord, ScreeningRecord

from .chart import Point, chart_description, cumulative_chart
from .projection import (
    BEHIND_MARGIN,
    WINDOW_DAYS,
    Projection,
    is_behind,
    month_end,
    month_of,
    months_from,
    planned_by,
    projected,
    projection_in_words,
)
from .scope import ReportScope
from .summary import quantile

ALL = "all"
BEHIND_RULE = (
    f"A site is behind target when it has randomised fewer than {100 - BEHIND_MARGIN * 100:.0f} "
    "% of the families the plan expects by today (the plan runs in a straight line from its "
    "first day to its target on its last)."
)
CSV_HEADER = (
    "site", "month", "referrals", "eligible", "consented", "randomised",
    "cumulative randomised", "target by the end of the month",
)  # fmt: skip
SITE_MONTHS_AT_MOST = 10  # more sites: their months are read one site at a time
NO_PLAN = (
    "The trial definition has no recruitment plan, so there are no targets and no projected "
    "completion date: the counts are shown without them."
)


@dataclass(frozen=True)
class Month:
    month: date  # its first day
    referrals: int
    eligible: int
    consented: int
    randomised: int  # in the month, within the date range
    cumulative: int | None  # randomised by the month's end, from the start (None: to come)
    target: float | None  # the plan's figure by the month's end (None: no plan)


@dataclass(frozen=True)
class Totals:
    referrals: int = 0
    eligible: int = 0
    consented: int = 0
    randomised: int = 0


@dataclass(frozen=True)
class Progress:
    """Where the count stands today against the linear plan."""

    randomised: int
    target: int
    expected: float
    behind: bool


@dataclass(frozen=True)
class Waits:
    """Days from referral to randomisation."""

    n: int
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Part:
    """One site's figures, or those of all the sites in scope (`code` "all")."""

    code: str
    name: str
    months: tuple[Month, ...]
    totals: Totals
    progress: Progress | None
    waits: Waits


@dataclass(frozen=True)
class Plan:
    start: date
    end: date
    target: int  # for the sites in scope


@dataclass(frozen=True)
class Recruitment:
    on: date
    covers: str  # what the figures are of, in words
    plan: Plan | None
    sites: tuple[Part, ...]
    overall: Part
    points: tuple[Point, ...]  # the chart's months (to the plan's end when no range ends)
    projection: Projection | None
    projection_text: str
    window_days: int = WINDOW_DAYS
    behind_rule: str = BEHIND_RULE

    @property
    def svg(self) -> str:
        title = f"Families randomised against the target, {self.covers}"
        target = self.plan.target if self.plan else None
        return cumulative_chart(
            self.points, title=title, description=chart_description(self.points, target=target)
        )

    @property
    def parts(self) -> tuple[Part, ...]:
        """Each site's figures, then all the sites' when there are more than one."""
        return (*self.sites, self.overall) if len(self.sites) > 1 else self.sites

    @property
    def month_parts(self) -> tuple[Part, ...]:
        """The parts whose months are tabled: every part for a few sites; for many, all the
        sites' only (each site's months are the same page for that site, and the CSV)."""
        return self.parts if len(self.sites) <= SITE_MONTHS_AT_MOST else (self.overall,)

    @property
    def any_behind(self) -> bool:
        return any(p.progress and p.progress.behind for p in self.sites)

    def as_dict(self) -> dict:
        def part(p: Part) -> dict:
            return {
                "site": p.code,
                "name": p.name,
                "months": [
                    {**m.__dict__, "month": m.month.isoformat(), "target": _tenths(m.target)}
                    for m in p.months
                ],
                "totals": p.totals.__dict__,
                "progress": p.progress and p.progress.__dict__,
                "waits": p.waits.__dict__,
            }

        plan = self.plan
        return {
            "on": self.on.isoformat(),
            "plan": plan
            and {
                "start": plan.start.isoformat(),
                "end": plan.end.isoformat(),
                "target": plan.target,
            },
            "behind_rule": self.behind_rule if plan else "",
            "overall": part(self.overall),
            "sites": [part(p) for p in self.sites],
            "projection": self.projection and self.projection.as_dict(),
            "projection_text": self.projection_text,
        }

    def csv_header(self) -> list[str]:
        return list(CSV_HEADER)

    def csv_rows(self) -> Iterator[list]:
        for p in (*self.sites, self.overall):
            for m in p.months:
                yield [
                    p.code,
                    m.month.strftime("%Y-%m"),
                    m.referrals,
                    m.eligible,
                    m.consented,
                    m.randomised,
                    "" if m.cumulative is None else m.cumulative,
                    "" if m.target is None else _tenths(m.target),
                ]


def _tenths(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# -- the counts, one query each -------------------------------------------------------


def _count(condition: Q) -> Count:
    return Count("id", filter=condition) if condition else Count("id")


# What each (site, month) cell counts: referrals, eligible, consented and randomised in the
# date range; randomised ever, by today and in the recent window (for the running totals,
# progress and the projection).
FIELDS = ("referrals", "eligible", "consented", "randomised", "ever", "to_date", "recent")
Cells = dict[tuple[int, date], dict[str, int]]


def _month(name: str) -> Cast:
    """The first day of the month of a date or time (a time in the trial's time zone), as a
    date: PostgreSQL would send a time with its time zone, slower to read by the thousand."""
    return Cast(TruncMonth(name, output_field=DateField()), DateField())


def _add(cells: Cells, rows, site: str) -> None:
    for row in rows:
        cell = cells.setdefault((row.pop(site), row.pop("month")), dict.fromkeys(FIELDS, 0))
        cell.update(row)


def _counted(scope: ReportScope) -> Cells:
    """The counts by site and month: one GROUP BY query each for referrals, first consents
    and randomisations."""
    cells: Cells = {}
    referrals = (
        ScreeningRecord.objects.filter(
            scope.dates("referral_date"), trial=scope.trial, site_id__in=scope.site_ids
        )
        .annotate(month=_month("referral_date"))
        .values("site_id", "month")
        .annotate(referrals=Count("id"), eligible=Count("id", filter=Q(eligible=True)))
        .order_by()
    )
    _add(cells, referrals, "site_id")
    earlier = ConsentRecord.objects.filter(
        family=OuterRef("family"), consent_date__lt=OuterRef("consent_date")
    )
    consented = (
        ConsentRecord.objects.filter(
            scope.dates("consent_date"),
            family__trial=scope.trial,
            family__site_id__in=scope.site_ids,
        )
        .filter(~Exists(earlier))
        .annotate(month=_month("consent_date"))
        .values("family__site_id", "month")
        # Two consents on a family's first day are one family.
        .annotate(consented=Count("family_id", distinct=True))
        .order_by()
    )
    _add(cells, consented, "family__site_id")
    day = "randomised_at__date"
    recent = Q(**{f"{day}__gt": scope.on - timedelta(days=WINDOW_DAYS), f"{day}__lte": scope.on})
    randomised = (
        _allocations(scope)
        .annotate(month=_month("randomised_at"))
        .values("family__site_id", "month")
        .annotate(
            randomised=_count(scope.dates(day)),
            ever=Count("id"),
            to_date=Count("id", filter=Q(**{f"{day}__lte": scope.on})),
            recent=Count("id", filter=recent),
        )
    )
    _add(cells, randomised, "family__site_id")
    return cells


def _allocations(scope: ReportScope):
    return Allocation.objects.filter(
        mode=scope.mode, family__trial=scope.trial, family__site_id__in=scope.site_ids
    ).order_by()


def _waits_by_site(scope: ReportScope) -> dict[int, dict[int, int]]:
    """Families by site and days waited: counted in SQL, so one short row per site and
    wait rather than one per family."""
    waited = F("family__screening__referral_date")
    counted = (
        _allocations(scope)
        .filter(scope.dates("randomised_at__date"), family__screening__isnull=False)
        .annotate(days=TruncDate("randomised_at") - waited)
        .values_list("family__site_id", "days")
        .annotate(n=Count("id"))
    )
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for site_id, days, n in counted:
        days = days.days if isinstance(days, timedelta) else int(days)
        found[site_id][days] = found[site_id].get(days, 0) + n
    return found


def waits_of(days: list[int]) -> Waits:
    """The days' median, inclusive quartiles, shortest and longest."""
    if not days:
        return Waits(n=0)
    ordered = sorted(days)
    return Waits(
        n=len(ordered),
        median=quantile(ordered, 0.5),
        q1=quantile(ordered, 0.25),
        q3=quantile(ordered, 0.75),
        minimum=ordered[0],
        maximum=ordered[-1],
    )


def _waited(counts: Iterator[dict[int, int]]) -> Waits:
    days: list[int] = []
    for found in counts:
        for wait, n in found.items():
            days.extend([wait] * n)
    return waits_of(days)


# -- the report -----------------------------------------------------------------------


def _plan(scope: ReportScope) -> Plan | None:
    recruitment = scope.config.reporting.recruitment
    if recruitment is None:
        return None
    if scope.site is not None:
        target = scope.site.recruitment_target
    elif Site.objects.filter(trial=scope.trial).count() == len(scope.sites):
        target = recruitment.target
    else:  # the viewer sees some of the sites: theirs are the targets that apply
        target = sum(s.recruitment_target for s in scope.sites)
    return Plan(start=recruitment.start, end=recruitment.end, target=target)


def _span(scope: ReportScope, plan: Plan | None, cells: set) -> list[date]:
    """The months shown: from the plan's start (or the first month with a count) to this
    month (or the last with one), narrowed to the date range."""
    seen = {month for _, month in cells}
    first = min([*seen, *([month_of(plan.start)] if plan else []), month_of(scope.on)])
    last = max([*seen, month_of(scope.on)])
    if scope.start:
        first = max(first, month_of(scope.start))
    if scope.end:
        last = min(last, month_of(scope.end))
    return list(months_from(first, last)) if first <= last else []


# A site's counts by month, and its families by days waited.
SiteCounts = tuple[dict[date, dict[str, int]], dict[int, int]]

# Changed whenever what a site's kept counts hold changes (sites.kept).
KEPT_AS = 2


def _site_counts(scope: ReportScope) -> dict[int, SiteCounts]:
    cells, waits = _counted(scope), _waits_by_site(scope)
    found: dict[int, SiteCounts] = {pk: ({}, waits.get(pk, {})) for pk in scope.site_ids}
    for (site_id, month), cell in cells.items():
        found[site_id][0][month] = cell
    return found


def _kept_counts(scope: ReportScope) -> tuple[Cells, dict[int, dict[int, int]]]:
    """The counts by site and month, and the waits by site: each site's kept while its data
    stand as they were, the others counted."""
    given = (KEPT_AS, *scope.kept_key(), scope.on)
    figures = kept_by_site(
        scope.sites,
        "recruitment",
        given,
        lambda sites: _site_counts(replace(scope, sites=sites)),
    )
    cells = {
        (pk, month): cell for pk, (months, _) in figures.items() for month, cell in months.items()
    }
    return cells, {pk: waits for pk, (_, waits) in figures.items()}


def recruitment_of(scope: ReportScope) -> Recruitment:
    """The recruitment report for the scope, pooled over the arms."""
    plan = _plan(scope)
    cells, waits = _kept_counts(scope)
    found = _Found(scope, plan, cells, waits, _span(scope, plan, set(cells)))
    sites = tuple(found.part(s.code, s.name, {s.pk}, s.recruitment_target) for s in scope.sites)
    target = plan.target if plan else 0
    overall = found.part(ALL, _covers(scope), set(scope.site_ids), target)
    projection, text = None, NO_PLAN
    if plan:
        recent = sum(cell["recent"] for cell in cells.values())
        to_date = overall.progress.randomised if overall.progress else 0
        projection = projected(
            today=scope.on, target=plan.target, randomised=to_date, recent=recent
        )
        text = projection_in_words(projection, planned_end=plan.end)
    return Recruitment(
        on=scope.on,
        covers=_covers(scope),
        plan=plan,
        sites=sites,
        overall=overall,
        points=_points(scope, plan, overall),
        projection=projection,
        projection_text=text,
    )


@dataclass(frozen=True)
class _Found:
    """The counts and waits as read, from which each part is summed."""

    scope: ReportScope
    plan: Plan | None
    cells: Cells
    waits: dict[int, dict[int, int]]
    months: list[date]

    @cached_property
    def by_site(self) -> dict[int, dict[date, dict[str, int]]]:
        found: dict[int, dict[date, dict[str, int]]] = defaultdict(dict)
        for (site_id, month), cell in self.cells.items():
            found[site_id][month] = cell
        return found

    def part(self, code: str, name: str, site_ids: set[int], target: int) -> Part:
        """One site's figures, or several sites' summed."""
        plan, on = self.plan, self.scope.on
        if len(site_ids) == 1:
            by_month = self.by_site.get(next(iter(site_ids)), {})
        else:
            by_month = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
            for site_id in site_ids:
                for month, cell in self.by_site.get(site_id, {}).items():
                    summed = by_month[month]
                    for key, n in cell.items():
                        summed[key] += n
        every = {key: sum(m[key] for m in by_month.values()) for key in FIELDS}
        # The running total counts every month with a randomisation, shown or not.
        ever = sorted((at, m["ever"]) for at, m in by_month.items())
        rows, cumulative, i, this_month = [], 0, 0, month_of(on)
        empty = dict.fromkeys(FIELDS, 0)
        for month in self.months:
            while i < len(ever) and ever[i][0] <= month:
                cumulative += ever[i][1]
                i += 1
            counts = by_month.get(month) or empty
            rows.append(
                Month(
                    month=month,
                    referrals=counts["referrals"],
                    eligible=counts["eligible"],
                    consented=counts["consented"],
                    randomised=counts["randomised"],
                    cumulative=cumulative if month <= this_month else None,
                    target=_target_by(plan, target, month_end(month)),
                )
            )
        totals = Totals(*(every[k] for k in ("referrals", "eligible", "consented", "randomised")))
        progress = None
        if plan:
            expected = planned_by(on, start=plan.start, end=plan.end, target=target)
            behind = is_behind(every["to_date"], expected)
            progress = Progress(every["to_date"], target, round(expected, 1), behind)
        waits = _waited(self.waits.get(s, {}) for s in site_ids)
        return Part(code, name, tuple(rows), totals, progress, waits)


def _target_by(plan: Plan | None, target: int, day: date) -> float | None:
    if plan is None:
        return None
    return planned_by(day, start=plan.start, end=plan.end, target=target)


def _covers(scope: ReportScope) -> str:
    return f"site {scope.site.code}" if scope.site else "all your sites"


def _points(scope: ReportScope, plan: Plan | None, overall: Part) -> tuple[Point, ...]:
    """The chart's months: those shown, and on to the plan's end when no range ends them."""
    points = [Point(m.month, m.cumulative, m.target) for m in overall.months]
    if plan and not scope.end and points:
        after = month_end(points[-1].month) + timedelta(days=1)
        for month in months_from(after, plan.end):
            points.append(Point(month, None, _target_by(plan, plan.target, month_end(month))))
    return tuple(points)

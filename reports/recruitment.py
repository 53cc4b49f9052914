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
referrals, first consents and randomisations, one list of (referral date, randomisation
time) pairs, and one count of the trial's sites."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, DateField, OuterRef, Q, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from randomisation.models import Allocation
from sites.models import Site
from trial.models import ConsentRecord, Family, ScreeningRecord

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
from .summary import described

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
        .annotate(month=TruncMonth("referral_date"))
        .values("site_id", "month")
        .annotate(referrals=Count("id"), eligible=Count("id", filter=Q(eligible=True)))
        .order_by()
    )
    _add(cells, referrals, "site_id")
    first = (
        ConsentRecord.objects.filter(family=OuterRef("pk"))
        .order_by("consent_date")
        .values("consent_date")[:1]
    )
    consented = (
        Family.objects.filter(trial=scope.trial, site_id__in=scope.site_ids)
        .annotate(first=Subquery(first, output_field=DateField()))
        .filter(scope.dates("first"), first__isnull=False)
        .annotate(month=TruncMonth("first"))
        .values("site_id", "month")
        .annotate(consented=Count("id"))
        .order_by()
    )
    _add(cells, consented, "site_id")
    day = "randomised_at__date"
    recent = Q(**{f"{day}__gt": scope.on - timedelta(days=WINDOW_DAYS), f"{day}__lte": scope.on})
    randomised = (
        _allocations(scope)
        .annotate(month=TruncMonth("randomised_at", output_field=DateField()))
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


def _waits_by_site(scope: ReportScope) -> dict[int, list[int]]:
    pairs = (
        _allocations(scope)
        .filter(scope.dates("randomised_at__date"), family__screening__isnull=False)
        .values_list("family__site_id", "family__screening__referral_date", "randomised_at")
    )
    found: dict[int, list[int]] = defaultdict(list)
    for site_id, referred, randomised_at in pairs:
        found[site_id].append((timezone.localdate(randomised_at) - referred).days)
    return found


def waits_of(days: list[int]) -> Waits:
    """The days' median, inclusive quartiles, shortest and longest."""
    d = described(days)
    low, high = min(days, default=None), max(days, default=None)
    return Waits(n=d.n, median=d.median, q1=d.q1, q3=d.q3, minimum=low, maximum=high)


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


def recruitment_of(scope: ReportScope) -> Recruitment:
    """The recruitment report for the scope, pooled over the arms."""
    plan = _plan(scope)
    cells = _counted(scope)
    found = _Found(scope, plan, cells, _waits_by_site(scope), _span(scope, plan, set(cells)))
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
    waits: dict[int, list[int]]
    months: list[date]

    def part(self, code: str, name: str, site_ids: set[int], target: int) -> Part:
        """One site's figures, or several sites' summed."""
        plan, on = self.plan, self.scope.on
        by_month: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
        for (site_id, month), cell in self.cells.items():
            if site_id in site_ids:
                for key, n in cell.items():
                    by_month[month][key] += n
        every = {key: sum(m[key] for m in by_month.values()) for key in FIELDS}
        rows = []
        for month in self.months:
            counts = by_month.get(month) or dict.fromkeys(FIELDS, 0)
            cumulative = sum(m["ever"] for at, m in by_month.items() if at <= month)
            rows.append(
                Month(
                    month=month,
                    referrals=counts["referrals"],
                    eligible=counts["eligible"],
                    consented=counts["consented"],
                    randomised=counts["randomised"],
                    cumulative=cumulative if month <= month_of(on) else None,
                    target=_target_by(plan, target, month_end(month)),
                )
            )
        totals = Totals(*(every[k] for k in ("referrals", "eligible", "consented", "randomised")))
        progress = None
        if plan:
            expected = planned_by(on, start=plan.start, end=plan.end, target=target)
            behind = is_behind(every["to_date"], expected)
            progress = Progress(every["to_date"], target, round(expected, 1), behind)
        days = [d for s in site_ids for d in self.waits.get(s, [])]
        return Part(code, name, tuple(rows), totals, progress, waits_of(days))


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

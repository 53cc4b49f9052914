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
from .summary import quantile

ALL = "all"
BEHIND_RULE = (
    f"A site is behind target when it has randomised fewer than {100 - BEHIND_MARGIN * 100:.0f} "
    "% of the families the plan expects by today (the plan runs in a straight line from its "
    "first day to its target on its last)."
)
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
                "months": [{**m.__dict__, "month": m.month.isoformat()} for m in p.months],
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
        return [
            "site",
            "month",
            "referrals",
            "eligible",
            "consented",
            "randomised",
            "cumulative randomised",
            "target by the end of the month",
        ]

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
                    "" if m.target is None else round(m.target, 1),
                ]


# -- the counts, one query each -------------------------------------------------------


def _count(condition: Q) -> Count:
    return Count("id", filter=condition) if condition else Count("id")


def _referrals(scope: ReportScope) -> dict[tuple[int, date], tuple[int, int]]:
    rows = (
        ScreeningRecord.objects.filter(
            scope.dates("referral_date"), trial=scope.trial, site_id__in=scope.site_ids
        )
        .annotate(month=TruncMonth("referral_date"))
        .values("site_id", "month")
        .annotate(referrals=Count("id"), eligible=Count("id", filter=Q(eligible=True)))
        .order_by()
    )
    return {(r["site_id"], r["month"]): (r["referrals"], r["eligible"]) for r in rows}


def _consented(scope: ReportScope) -> dict[tuple[int, date], int]:
    first = (
        ConsentRecord.objects.filter(family=OuterRef("pk"))
        .order_by("consent_date")
        .values("consent_date")[:1]
    )
    rows = (
        Family.objects.filter(trial=scope.trial, site_id__in=scope.site_ids)
        .annotate(first=Subquery(first, output_field=DateField()))
        .filter(scope.dates("first"), first__isnull=False)
        .annotate(month=TruncMonth("first"))
        .values("site_id", "month")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(r["site_id"], r["month"]): r["n"] for r in rows}


def _allocations(scope: ReportScope):
    return Allocation.objects.filter(
        mode=scope.mode, family__trial=scope.trial, family__site_id__in=scope.site_ids
    ).order_by()


@dataclass(frozen=True)
class _Randomised:
    in_range: int
    ever: int
    to_date: int
    recent: int


def _randomised(scope: ReportScope) -> dict[tuple[int, date], _Randomised]:
    day = "randomised_at__date"
    recent = Q(**{f"{day}__gt": scope.on - timedelta(days=WINDOW_DAYS), f"{day}__lte": scope.on})
    rows = (
        _allocations(scope)
        .annotate(month=TruncMonth("randomised_at", output_field=DateField()))
        .values("family__site_id", "month")
        .annotate(
            in_range=_count(scope.dates(day)),
            ever=Count("id"),
            to_date=Count("id", filter=Q(**{f"{day}__lte": scope.on})),
            recent=Count("id", filter=recent),
        )
    )
    return {
        (r["family__site_id"], r["month"]): _Randomised(
            r["in_range"], r["ever"], r["to_date"], r["recent"]
        )
        for r in rows
    }


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


def _span(scope: ReportScope, plan: Plan | None, seen: set[date]) -> list[date]:
    """The months shown: from the plan's start (or the first month with a count) to this
    month (or the last with one), narrowed to the date range."""
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
    referrals, consented = _referrals(scope), _consented(scope)
    randomised, waits = _randomised(scope), _waits_by_site(scope)
    seen = {m for _, m in referrals} | {m for _, m in consented} | {m for _, m in randomised}
    months = _span(scope, plan, seen)
    this_month = month_of(scope.on)
    none = _Randomised(0, 0, 0, 0)

    def part(code: str, name: str, site_ids: list[int], target: int | None) -> Part:
        def summed(table: dict, month: date, default):
            return [table.get((s, month), default) for s in site_ids]

        ever_by_month: dict[date, int] = defaultdict(int)
        for (site_id, month), r in randomised.items():
            if site_id in site_ids:
                ever_by_month[month] += r.ever
        rows = []
        for month in months:
            counted = summed(referrals, month, (0, 0))
            cumulative = sum(n for m, n in ever_by_month.items() if m <= month)
            rows.append(
                Month(
                    month=month,
                    referrals=sum(c[0] for c in counted),
                    eligible=sum(c[1] for c in counted),
                    consented=sum(summed(consented, month, 0)),
                    randomised=sum(r.in_range for r in summed(randomised, month, none)),
                    cumulative=cumulative if month <= this_month else None,
                    target=_target_by(plan, target, month_end(month)),
                )
            )
        totals = Totals(
            referrals=sum(n for (s, _), (n, _e) in referrals.items() if s in site_ids),
            eligible=sum(e for (s, _), (_n, e) in referrals.items() if s in site_ids),
            consented=sum(n for (s, _), n in consented.items() if s in site_ids),
            randomised=sum(r.in_range for (s, _), r in randomised.items() if s in site_ids),
        )
        to_date = sum(r.to_date for (s, _), r in randomised.items() if s in site_ids)
        progress = None
        if plan and target is not None:
            expected = planned_by(scope.on, start=plan.start, end=plan.end, target=target)
            progress = Progress(to_date, target, round(expected, 1), is_behind(to_date, expected))
        days = [d for s in site_ids for d in waits.get(s, [])]
        return Part(code, name, tuple(rows), totals, progress, waits_of(days))

    sites = tuple(
        part(s.code, s.name, [s.pk], s.recruitment_target if plan else None) for s in scope.sites
    )
    overall = part(ALL, _covers(scope), scope.site_ids, plan.target if plan else None)
    projection, text = None, NO_PLAN
    if plan:
        recent = sum(r.recent for r in randomised.values())
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


def _target_by(plan: Plan | None, target: int | None, day: date) -> float | None:
    if plan is None or target is None:
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

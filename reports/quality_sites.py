"""The data quality report's figures per site (queries, source-data verification) and its
retention at each follow-up visit, each aggregated in one query, with the counts of one form
at one visit they sum (`reports.quality` builds on these; nothing here imports it)."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from crf.models import Query, QueryStatus
from crf.selectors import AGE_BANDS
from trial.models import Withdrawal

from .scope import ReportScope
from .windows import Cuts, DayNumber, randomised_in, start_of


@dataclass(frozen=True)
class FormCounts:
    """One form at one visit, at one site (or over all the sites in scope)."""

    site: str
    visit: str
    visit_label: str
    form: str
    title: str
    expected: int = 0
    complete: int = 0
    overdue: int = 0
    not_done: int = 0
    out_of_window: int = 0

    @property
    def complete_percent(self) -> int | None:
        return round(100 * self.complete / self.expected) if self.expected else None


@dataclass(frozen=True)
class SiteFigures:
    """One site's counts as the report's queries give them, kept between views while the
    site's data stand as they were (sites.kept). Slots are (visit, form)."""

    # randomised; at visit i: window opened{i}, closed{i}, and retained{i} (closed, with a
    # form complete there)
    families: dict
    responses: dict  # slot: complete, verified, out_of_window, unopened, closed
    not_done: dict  # slot: marked, unopened, closed
    less_expected: dict  # slot: forms whose source the family's consent or withdrawal stops
    less_overdue: dict  # slot: the same, among those with the window closed
    queries: dict  # raised, open, closed, band{i} (open, by age)
    withdrawn: dict  # w{i}: families withdrawn by the close of follow-up visit i's window


@dataclass(frozen=True)
class Verification:
    """Source-data verification at a site against the monitoring plan."""

    key_complete: int = 0
    key_verified: int = 0
    other_complete: int = 0
    other_percent: float = 0
    other_required: int = 0
    other_verified: int = 0

    @property
    def key_behind(self) -> int:
        return max(self.key_complete - self.key_verified, 0)

    @property
    def other_behind(self) -> int:
        return max(self.other_required - self.other_verified, 0)


@dataclass(frozen=True)
class SiteQuality:
    """A site's summary: forms, queries (open ones by age band), verification."""

    site: str
    name: str
    randomised: int
    expected: int
    complete: int
    overdue: int
    not_done: int
    out_of_window: int
    queries_raised: int
    queries_open: int
    queries_closed: int
    open_by_age: tuple[int, ...]
    verification: Verification


@dataclass(frozen=True)
class Retention:
    """A follow-up visit: families whose window has closed, those with at least one form
    complete at it, and those who withdrew (at any level) on or before its window closed."""

    visit: str
    label: str
    due: int
    retained: int
    withdrawn: int

    @property
    def retained_percent(self) -> int | None:
        return round(100 * self.retained / self.due) if self.due else None


def queries_by_site(scope: ReportScope, shown: dict, every_form: bool) -> dict[int, dict]:
    """Queries per site: raised, open (not yet closed: open or answered), closed, and the
    open ones by age band (days since raised, in the trial's calendar). When every form the
    trial has is shown, the queries' responses are not read (a join of a few thousand
    look-ups into the responses, for nothing)."""
    still_open = ~Q(status=QueryStatus.CLOSED)
    counted = {
        "raised": Count("id"),
        "open": Count("id", filter=still_open),
        "closed": Count("id", filter=Q(status=QueryStatus.CLOSED)),
    }
    newer: datetime | None = None
    for i, (limit, _) in enumerate(AGE_BANDS):
        band = still_open
        if limit is not None:  # raised on or after the day `limit` days ago
            band &= Q(raised_at__gte=start_of(scope.on - timedelta(days=limit)))
        if newer is not None:
            band &= Q(raised_at__lt=newer)
        newer = start_of(scope.on - timedelta(days=limit)) if limit is not None else None
        counted[f"band{i}"] = Count("id", filter=band)
    return {
        row["family__site_id"]: row
        for row in Query.objects.filter(
            randomised_in(scope, "family__"), Q() if every_form else Q(response__form__in=shown)
        )
        .values("family__site_id")
        .annotate(**counted)
        .order_by()
    }


def site_summaries(
    scope: ReportScope, rows: list[FormCounts], figures: dict[int, SiteFigures]
) -> tuple[SiteQuality, ...]:
    plan = scope.config.monitoring.source_verification
    by_site: dict[str, list] = defaultdict(list)
    for row in rows:
        by_site[row.site].append(row)
    found = []
    for site in scope.sites:
        own = by_site[site.code]
        site_figures = figures[site.pk]
        key_counts, other_counts = [], []
        for (_, form), counts in site_figures.responses.items():
            (key_counts if form in plan.key_forms else other_counts).append(counts)
        other_complete = sum(v["complete"] for v in other_counts)
        percent = plan.percent_at(site.code)
        asked = site_figures.queries
        found.append(
            SiteQuality(
                site=site.code,
                name=site.name,
                randomised=site_figures.families.get("randomised", 0),
                expected=sum(r.expected for r in own),
                complete=sum(r.complete for r in own),
                overdue=sum(r.overdue for r in own),
                not_done=sum(r.not_done for r in own),
                out_of_window=sum(r.out_of_window for r in own),
                queries_raised=asked.get("raised", 0),
                queries_open=asked.get("open", 0),
                queries_closed=asked.get("closed", 0),
                open_by_age=tuple(asked.get(f"band{i}", 0) for i in range(len(AGE_BANDS))),
                verification=Verification(
                    key_complete=sum(v["complete"] for v in key_counts),
                    key_verified=sum(v["verified"] for v in key_counts),
                    other_complete=other_complete,
                    other_percent=percent,
                    # round() first: 20 % of 35 is 7, not 7.000000000000001 rounded up to 8.
                    other_required=math.ceil(round(other_complete * percent / 100, 9)),
                    other_verified=sum(v["verified"] for v in other_counts),
                ),
            )
        )
    return tuple(found)


def withdrawn_by_site(scope: ReportScope, cuts: list[Cuts], shown: dict) -> dict[int, dict]:
    """By site, at each follow-up visit i (`w{i}`): the families whose window has closed and
    who withdrew on or before it closed."""
    follow_ups = [(i, c) for i, c in enumerate(cuts) if not c.visit.before_randomisation]
    if not follow_ups:
        return {}
    at = "family__allocations__randomised_at"
    # A level that stops only sources no shown form collects (withdrawal from the
    # intervention alone) would tell a blinded viewer about the arm: it is not counted then.
    sources = {s for d in shown.values() for s in d.spec.sources}
    levels = [w.key for w in scope.config.withdrawal_levels if scope.by_arm or w.stops & sources]
    days = DayNumber("withdrawal_date") - DayNumber(TruncDate(at))
    gone = {
        f"w{i}": Count(
            "family_id",
            distinct=True,
            filter=c.q_closed(at) & Q(days__lte=c.visit.day + c.visit.after),
        )
        for i, c in follow_ups
    }
    return {
        row["family__site_id"]: row
        for row in Withdrawal.objects.filter(randomised_in(scope, "family__"), level__in=levels)
        .annotate(days=days)
        .values("family__site_id")
        .annotate(**gone)
        .order_by()
    }


def retention_of(cuts: list[Cuts], figures: dict[int, SiteFigures]) -> tuple[Retention, ...]:
    """At each follow-up visit, the families whose window has closed: how many of them have a
    form complete there, and how many withdrew on or before the window closed."""
    return tuple(
        Retention(
            visit=c.visit.key,
            label=c.visit.label,
            due=sum(f.families.get(f"closed{i}", 0) for f in figures.values()),
            retained=sum(f.families.get(f"retained{i}", 0) for f in figures.values()),
            withdrawn=sum(f.withdrawn.get(f"w{i}", 0) for f in figures.values()),
        )
        for i, c in enumerate(cuts)
        if not c.visit.before_randomisation
    )

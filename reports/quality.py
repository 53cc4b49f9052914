"""Data quality: per site, visit and form, the forms expected, complete, overdue, marked not
done and dated out of window; queries raised, open and their ages; source-data verification
against the monitoring plan; retention at each follow-up visit. Every figure counts the
families randomised (in the trial's current mode) at the sites in scope, within the date
range. Forms that reveal the arm are left out entirely for a viewer blinded at any site in
scope, and nothing is split by arm.

A form is expected of a family once its visit's window has opened (the baseline forms of
every randomised family), unless the family's consent or withdrawal stops the data source
it collects (trial.collection, the rule the casebook and the lists of forms due read); a
form completed or marked not done counts as expected all the same. Overdue: expected, not
complete, not marked not done, and its window closed before the report's day.

Bounded queries whatever the size of the trial: the families are counted per site in SQL
(window opened and closed against cut-off instants of the randomisation time), responses,
forms not done, withdrawals and queries are aggregated in SQL by site, visit and form (the
days from randomisation to a form's date computed by the database), and only the few
families whose consent or withdrawal stops some source are read one by one."""

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, Func, IntegerField, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from crf.models import FormDefinition, NotDone, Query, QueryStatus, Response
from crf.selectors import AGE_BANDS, DONE, current_definitions
from trial.collection import collection_statuses, versions_in_effect
from trial.models import ConsentRecord, Family, Withdrawal
from trial.schedule import Visit

from .scope import ReportScope

BLINDED_NOTE = (
    "Forms that could show which group a family is in are left out, because you are "
    "blinded at one or more of these sites."
)
CSV_HEADER = (
    "site",
    "visit",
    "form",
    "expected",
    "complete",
    "overdue",
    "not_done",
    "out_of_window",
)


class DayNumber(Func):
    """A date as a whole number of days from a fixed day: the difference of two is the days
    between them, on SQLite and PostgreSQL alike."""

    output_field = IntegerField()
    template = "(%(expressions)s - DATE '1970-01-01')"

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() is x.5 for every date, so the truncated differences are exact.
        return self.as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)", **extra
        )


def _start_of(day: date) -> datetime:
    """The first instant of a day in the trial's time zone: a family randomised on or
    before day D was randomised before the start of D + 1."""
    return timezone.make_aware(datetime.combine(day, time.min))


# -- the report's shape -------------------------------------------------------------------


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


@dataclass(frozen=True)
class Quality:
    on: date
    start: date | None
    end: date | None
    by_arm: bool
    randomised: int
    rows: tuple[FormCounts, ...]  # site x visit x form
    totals: tuple[FormCounts, ...]  # visit x form over the sites in scope
    sites: tuple[SiteQuality, ...]
    retention: tuple[Retention, ...]
    left_out: tuple[str, ...] = ()  # titles of the forms left out for a blinded viewer
    key_forms: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = field(default=tuple(label for _, label in AGE_BANDS))

    @property
    def out_of_window(self) -> int:
        return sum(t.out_of_window for t in self.totals)

    @property
    def overdue(self) -> int:
        return sum(t.overdue for t in self.totals)

    def as_dict(self) -> dict:
        def counts(row: FormCounts) -> dict:
            return asdict(row) | {"complete_percent": row.complete_percent}

        return {
            "on": self.on.isoformat(),
            "randomised_from": self.start.isoformat() if self.start else None,
            "randomised_to": self.end.isoformat() if self.end else None,
            "randomised": self.randomised,
            "out_of_window": self.out_of_window,
            "overdue": self.overdue,
            "forms_left_out": list(self.left_out),
            "rows": [counts(r) for r in self.rows],
            "totals": [counts(t) for t in self.totals],
            "sites": [
                {
                    **{k: v for k, v in asdict(s).items() if k not in ("open_by_age",)},
                    "open_by_age": dict(zip(self.age_bands, s.open_by_age, strict=True)),
                }
                for s in self.sites
            ],
            "retention": [
                asdict(r) | {"retained_percent": r.retained_percent} for r in self.retention
            ],
        }

    def csv_header(self) -> tuple[str, ...]:
        return CSV_HEADER

    def csv_rows(self) -> Iterator[tuple]:
        for r in self.rows:
            yield (
                r.site,
                r.visit,
                r.form,
                r.expected,
                r.complete,
                r.overdue,
                r.not_done,
                r.out_of_window,
            )


# -- reading it ---------------------------------------------------------------------------


def _randomised(scope: ReportScope, via: str = "") -> Q:
    """The families randomised in scope, as a condition reached through `via` (given in one
    filter() call with whatever reads the allocation, so that one join serves both)."""
    return Q(
        scope.dates(f"{via}allocations__randomised_at__date"),
        **{
            f"{via}allocations__mode": scope.mode,
            f"{via}trial": scope.trial,
            f"{via}site_id__in": scope.site_ids,
        },
    )


@dataclass(frozen=True)
class _Cuts:
    """A visit's windows as instants of the randomisation time: a family's window has opened
    by the report's day when it was randomised before `opened` (None: always, the baseline),
    and has closed when it was randomised before `closed`."""

    visit: Visit
    opened: datetime | None
    closed: datetime

    @classmethod
    def of(cls, visit: Visit, on: date) -> "_Cuts":
        # Opened: randomised on or before on - (day - before); closed: the window's last day,
        # randomisation + day + after, is before `on`.
        opened = None
        if not visit.before_randomisation:
            opened = _start_of(on - timedelta(days=visit.day - visit.before - 1))
        return cls(visit, opened, _start_of(on - timedelta(days=visit.day + visit.after)))

    def q_opened(self, at: str) -> Q:
        return Q() if self.opened is None else Q(**{f"{at}__lt": self.opened})

    def q_unopened(self, at: str) -> Q:
        return Q(pk__in=[]) if self.opened is None else Q(**{f"{at}__gte": self.opened})

    def q_closed(self, at: str) -> Q:
        return Q(**{f"{at}__lt": self.closed})


def _stopped(scope: ReportScope) -> Q:
    """Families whose consent or withdrawal may stop some data source on the report's day:
    the few read one by one through the collection rule. Every other family may give
    every source (no withdrawal; a current consent, yes to every item that opens a source;
    no re-consent due)."""
    config, day = scope.config, scope.on
    required = {f"answers__{i.key}": True for i in config.consent_items if i.required}
    current = ConsentRecord.objects.filter(family=OuterRef("pk"), consent_date__lte=day, **required)
    may = Q(Exists(current))
    for item in config.consent_items:
        if item.gates:
            may &= Q(Exists(current.filter(**{f"answers__{item.key}": True})))
    withdrawn = Withdrawal.objects.filter(family=OuterRef("pk"), withdrawal_date__lte=day)
    stopped = ~may | Q(Exists(withdrawn))
    for site_id, version in versions_in_effect(scope.site_ids, day).items():
        if version is not None and version.reconsent_required:
            on_version = ConsentRecord.objects.filter(
                family=OuterRef("pk"), version=version, **required
            )
            stopped |= Q(site_id=site_id) & ~Q(Exists(on_version))
    return stopped


def _by_slot(rows, keys=("family__site_id", "visit", "form")) -> dict[tuple, dict]:
    return {tuple(row[k] for k in keys): row for row in rows}


def quality_of(scope: ReportScope) -> Quality:
    """The data quality report for the scope, in a fixed number of queries."""
    on = scope.on
    schedule = scope.config.schedule
    visits = list(schedule.visits) if schedule else []
    definitions = current_definitions(scope.trial)
    scheduled = schedule.form_keys() if schedule else set()

    def hidden(definition: FormDefinition) -> bool:
        return definition.reveals_arm and not scope.by_arm

    shown = {k: d for k, d in definitions.items() if k in scheduled and not hidden(d)}
    left_out = tuple(
        sorted(d.title for k, d in definitions.items() if k in scheduled and hidden(d))
    )
    cuts = [_Cuts.of(v, on) for v in visits]
    at = "allocations__randomised_at"
    family_at = f"family__{at}"

    # Families per site: randomised, window opened and closed at each visit.
    counted = {"randomised": Count("id")}
    for i, cut in enumerate(cuts):
        counted[f"opened{i}"] = Count("id", filter=cut.q_opened(at))
        counted[f"closed{i}"] = Count("id", filter=cut.q_closed(at))
    families = {
        row["site_id"]: row
        for row in Family.objects.filter(_randomised(scope))
        .values("site_id")
        .annotate(**counted)
        .order_by()
    }

    # Complete responses per site, visit and form (any-time forms too, for verification).
    days = DayNumber("dated_on") - DayNumber(TruncDate(family_at))
    outside = Q(pk__in=[])
    unopened, closed = Q(pk__in=[]), Q(pk__in=[])
    for cut in cuts:
        v = cut.visit
        outside |= Q(visit=v.key) & (Q(days__lt=v.day - v.before) | Q(days__gt=v.day + v.after))
        unopened |= Q(visit=v.key) & cut.q_unopened(family_at)
        closed |= Q(visit=v.key) & cut.q_closed(family_at)
    responses = _by_slot(
        Response.objects.filter(_randomised(scope, "family__"), status__in=DONE, form__in=shown)
        .annotate(days=days)
        .values("family__site_id", "visit", "form")
        .annotate(
            complete=Count("id"),
            verified=Count("id", filter=Q(verified_at__isnull=False)),
            out_of_window=Count("id", filter=outside),
            unopened=Count("id", filter=unopened),
            closed=Count("id", filter=closed),
        )
        .order_by()
    )

    # Forms marked not done; those with no complete response too are counted once more
    # among the expected (window not yet opened) or among the closed windows.
    done_too = Response.objects.filter(
        family_id=OuterRef("family_id"),
        visit=OuterRef("visit"),
        form=OuterRef("form"),
        status__in=DONE,
    )
    not_done = _by_slot(
        NotDone.objects.filter(_randomised(scope, "family__"), form__in=shown)
        .annotate(done=Exists(done_too))
        .values("family__site_id", "visit", "form")
        .annotate(
            marked=Count("id"),
            unopened=Count("id", filter=Q(done=False) & unopened),
            closed=Count("id", filter=Q(done=False) & closed),
        )
        .order_by()
    )

    # The few families whose consent or withdrawal stops a source: the collection rule,
    # family by family, takes away the forms it stops that are neither complete nor not done.
    less_expected: dict[tuple, int] = defaultdict(int)
    less_overdue: dict[tuple, int] = defaultdict(int)
    gated = list(
        Family.objects.filter(_randomised(scope) & _stopped(scope))
        .annotate(randomised_at=F(at))
        .select_related("trial")
        .prefetch_related("consents", "withdrawals")
        .order_by()
    )
    ids = [f.pk for f in gated]
    slots = ("family_id", "visit", "form")
    collected = set(
        Response.objects.filter(family_id__in=ids, status__in=DONE).values_list(*slots).order_by()
    ) | set(NotDone.objects.filter(family_id__in=ids).values_list(*slots).order_by())
    statuses = collection_statuses(gated, on)
    for family in gated:
        status = statuses[family.pk]
        randomised_on = timezone.localdate(family.randomised_at)
        for visit in visits:
            earliest, _, latest = visit.window(randomised_on)
            for form in visit.forms:
                definition = shown.get(form)
                if (
                    definition is None
                    or all(status.may(s) for s in definition.spec.sources)
                    or (family.pk, visit.key, form) in collected
                ):
                    continue
                slot = (family.site_id, visit.key, form)
                if visit.before_randomisation or earliest <= on:
                    less_expected[slot] += 1
                if latest < on:
                    less_overdue[slot] += 1

    rows: list[FormCounts] = []
    for site in scope.sites:
        counts = families.get(site.pk, {})
        for i, visit in enumerate(visits):
            for form in visit.forms:
                if form not in shown:
                    continue
                slot = (site.pk, visit.key, form)
                done, marked = responses.get(slot, {}), not_done.get(slot, {})
                opened = counts.get(f"opened{i}", 0)
                rows.append(
                    FormCounts(
                        site=site.code,
                        visit=visit.key,
                        visit_label=visit.label,
                        form=form,
                        title=shown[form].title,
                        expected=opened
                        + done.get("unopened", 0)
                        + marked.get("unopened", 0)
                        - less_expected[slot],
                        complete=done.get("complete", 0),
                        overdue=counts.get(f"closed{i}", 0)
                        - done.get("closed", 0)
                        - marked.get("closed", 0)
                        - less_overdue[slot],
                        not_done=marked.get("marked", 0),
                        out_of_window=done.get("out_of_window", 0),
                    )
                )
    return Quality(
        on=on,
        start=scope.start,
        end=scope.end,
        by_arm=scope.by_arm,
        randomised=sum(row["randomised"] for row in families.values()),
        rows=tuple(rows),
        totals=_totals(rows),
        sites=_sites(scope, rows, families, responses, shown),
        retention=_retention(scope, cuts, families, shown),
        left_out=left_out,
        key_forms=tuple(
            shown[k].title
            for k in scope.config.monitoring.source_verification.key_forms
            if k in shown
        ),
    )


def _totals(rows: list[FormCounts]) -> tuple[FormCounts, ...]:
    summed: dict[tuple[str, str], FormCounts] = {}
    for row in rows:
        key = (row.visit, row.form)
        was = summed.get(key) or FormCounts("", row.visit, row.visit_label, row.form, row.title)
        summed[key] = FormCounts(
            "",
            row.visit,
            row.visit_label,
            row.form,
            row.title,
            was.expected + row.expected,
            was.complete + row.complete,
            was.overdue + row.overdue,
            was.not_done + row.not_done,
            was.out_of_window + row.out_of_window,
        )
    return tuple(summed.values())


def _queries(scope: ReportScope, shown: dict) -> dict[int, dict]:
    """Queries per site: raised, open (not yet closed: open or answered), closed, and the
    open ones by age band (days since raised, in the trial's calendar)."""
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
            band &= Q(raised_at__gte=_start_of(scope.on - timedelta(days=limit)))
        if newer is not None:
            band &= Q(raised_at__lt=newer)
        newer = _start_of(scope.on - timedelta(days=limit)) if limit is not None else None
        counted[f"band{i}"] = Count("id", filter=band)
    return {
        row["family__site_id"]: row
        for row in Query.objects.filter(_randomised(scope, "family__"), response__form__in=shown)
        .values("family__site_id")
        .annotate(**counted)
        .order_by()
    }


def _sites(
    scope: ReportScope, rows: list[FormCounts], families: dict, responses: dict, shown: dict
) -> tuple[SiteQuality, ...]:
    plan = scope.config.monitoring.source_verification
    queries = _queries(scope, shown)
    found = []
    for site in scope.sites:
        own = [r for r in rows if r.site == site.code]
        key = [
            v for (s, _, form), v in responses.items() if s == site.pk and form in plan.key_forms
        ]
        other = [
            v
            for (s, _, form), v in responses.items()
            if s == site.pk and form not in plan.key_forms
        ]
        other_complete = sum(v["complete"] for v in other)
        percent = plan.percent_at(site.code)
        asked = queries.get(site.pk, {})
        found.append(
            SiteQuality(
                site=site.code,
                name=site.name,
                randomised=families.get(site.pk, {}).get("randomised", 0),
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
                    key_complete=sum(v["complete"] for v in key),
                    key_verified=sum(v["verified"] for v in key),
                    other_complete=other_complete,
                    other_percent=percent,
                    # round() first: 20 % of 35 is 7, not 7.000000000000001 rounded up to 8.
                    other_required=math.ceil(round(other_complete * percent / 100, 9)),
                    other_verified=sum(v["verified"] for v in other),
                ),
            )
        )
    return tuple(found)


def _retention(
    scope: ReportScope, cuts: list[_Cuts], families: dict, shown: dict
) -> tuple[Retention, ...]:
    """At each follow-up visit whose window has closed for some families: how many of them
    have a form complete there, and how many withdrew on or before the window closed."""
    follow_ups = [(i, c) for i, c in enumerate(cuts) if not c.visit.before_randomisation]
    if not follow_ups:
        return ()
    at = "family__allocations__randomised_at"
    seen = {
        f"r{i}": Count("family_id", distinct=True, filter=Q(visit=c.visit.key) & c.q_closed(at))
        for i, c in follow_ups
    }
    retained = Response.objects.filter(
        _randomised(scope, "family__"), status__in=DONE, form__in=shown
    ).aggregate(**seen)
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
    withdrawn = (
        Withdrawal.objects.filter(_randomised(scope, "family__"), level__in=levels)
        .annotate(days=days)
        .aggregate(**gone)
    )
    return tuple(
        Retention(
            visit=c.visit.key,
            label=c.visit.label,
            due=sum(row.get(f"closed{i}", 0) for row in families.values()),
            retained=retained[f"r{i}"] or 0,
            withdrawn=withdrawn[f"w{i}"] or 0,
        )
        for i, c in follow_ups
    )

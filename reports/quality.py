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
families whose consent or withdrawal stops some source are read one by one. Each site's
counts are kept between views while the site's data stand as they were (sites.kept), so a
view after a change at one site counts that site again, not every site in scope."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Abs, TruncDate
from django.template.defaultfilters import floatformat

from crf.models import FormDefinition, NotDone, Response
from crf.selectors import AGE_BANDS, DONE, current_definitions
from sites.kept import kept_by_site
from trial.models import Family

from .quality_sites import (
    FormCounts,
    Retention,
    SiteFigures,
    SiteQuality,
    queries_by_site,
    retention_of,
    site_summaries,
    withdrawn_by_site,
)
from .quality_stops import stopped_slots
from .scope import ReportScope
from .windows import Cuts, DayNumber, randomised_in

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

# Changed whenever what a site's kept figures hold changes (sites.kept).
KEPT_AS = "quality-2"

SITE_FIGURES = {
    f.name for f in fields(SiteQuality) if f.name not in ("open_by_age", "verification")
}

# -- the report's shape -------------------------------------------------------------------


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

    # The page's tables by site, cell by cell, as text (100 sites: the template renders each
    # cell without looking up or formatting a figure; no thousands separator, as before).

    @property
    def site_rows(self) -> list[dict]:
        return [
            {
                "head": f"{s.site}: {s.name}",
                "cells": _text(s.randomised, s.expected, s.complete, s.overdue, s.not_done),
                "out_of_window": str(s.out_of_window),
            }
            for s in self.sites
        ]

    @property
    def query_rows(self) -> list[dict]:
        return [
            {
                "head": s.site,
                "cells": _text(s.queries_raised, s.queries_open, s.queries_closed, *s.open_by_age),
            }
            for s in self.sites
        ]

    @property
    def verification_rows(self) -> list[dict]:
        def behind(done: int, to_do: int) -> str:
            return f"{done} ({to_do} to do)" if to_do else str(done)

        rows = []
        for s in self.sites:
            v = s.verification
            rows.append(
                {
                    "head": s.site,
                    "cells": _text(
                        v.key_complete,
                        behind(v.key_verified, v.key_behind),
                        v.other_complete,
                        f"{floatformat(v.other_percent, '-1')} %",
                        v.other_required,
                        behind(v.other_verified, v.other_behind),
                    ),
                }
            )
        return rows

    def as_dict(self) -> dict:
        def counts(r: FormCounts) -> dict:
            return {
                "site": r.site,
                "visit": r.visit,
                "visit_label": r.visit_label,
                "form": r.form,
                "title": r.title,
                "expected": r.expected,
                "complete": r.complete,
                "overdue": r.overdue,
                "not_done": r.not_done,
                "out_of_window": r.out_of_window,
                "complete_percent": r.complete_percent,
            }

        def site(s: SiteQuality) -> dict:
            return {
                f.name: getattr(s, f.name) for f in fields(SiteQuality) if f.name in SITE_FIGURES
            } | {
                "verification": asdict(s.verification),
                "open_by_age": dict(zip(self.age_bands, s.open_by_age, strict=True)),
            }

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
            "sites": [site(s) for s in self.sites],
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


def _text(*cells) -> tuple[str, ...]:
    return tuple(str(c) for c in cells)


# -- reading it ---------------------------------------------------------------------------


def _by_visit(visits: list, number) -> Case:
    """A number for each visit of the schedule, by the response's visit (None for others)."""
    return Case(
        *(When(visit=v.key, then=Value(number(v))) for v in visits), output_field=IntegerField()
    )


def _by_slot(rows) -> dict[int, dict[tuple, dict]]:
    """Rows grouped by site, visit and form as {site id: {(visit, form): row}}."""
    found: dict[int, dict[tuple, dict]] = defaultdict(dict)
    for row in rows:
        found[row["family__site_id"]][(row["visit"], row["form"])] = row
    return found


def _by_site(slots: dict[tuple, int]) -> dict[int, dict[tuple, int]]:
    """{(site id, visit, form): n} as {site id: {(visit, form): n}}."""
    found: dict[int, dict[tuple, int]] = defaultdict(dict)
    for (site_id, visit, form), n in slots.items():
        found[site_id][(visit, form)] = n
    return found


def _figures(
    scope: ReportScope, visits: list, cuts: list[Cuts], shown: dict, every_form: bool
) -> dict[int, SiteFigures]:
    """The counts of every site in scope, in a fixed number of queries."""
    of_shown = Q() if every_form else Q(form__in=shown)
    at = "allocations__randomised_at"
    family_at = f"family__{at}"

    # Families per site: randomised, window opened and closed at each visit, and (for
    # retention) with the window closed and a form shown complete at the visit.
    counted = {"randomised": Count("id")}
    for i, cut in enumerate(cuts):
        counted[f"opened{i}"] = Count("id", filter=cut.q_opened(at))
        counted[f"closed{i}"] = Count("id", filter=cut.q_closed(at))
        if not cut.visit.before_randomisation:
            seen = Response.objects.filter(
                of_shown, family=OuterRef("pk"), visit=cut.visit.key, status__in=DONE
            )
            counted[f"retained{i}"] = Count("id", filter=cut.q_closed(at) & Q(Exists(seen)))
    families = {
        row["site_id"]: row
        for row in Family.objects.filter(randomised_in(scope))
        .values("site_id")
        .annotate(**counted)
        .order_by()
    }

    # Complete responses per site, visit and form (any-time forms too, for verification).
    # Out of window: the days from randomisation to the form's date, d, outside [lo, hi],
    # that is |2d - (lo + hi)| > hi - lo: the days computed once a row, not four times.
    days = DayNumber("dated_on") - DayNumber(TruncDate(family_at))
    centre = _by_visit(visits, lambda v: 2 * v.day - v.before + v.after)
    width = _by_visit(visits, lambda v: v.before + v.after)
    outside = Q(off_window__gt=0)
    unopened, closed = Q(pk__in=[]), Q(pk__in=[])
    for cut in cuts:
        v = cut.visit
        unopened |= Q(visit=v.key) & cut.q_unopened(family_at)
        closed |= Q(visit=v.key) & cut.q_closed(family_at)
    responses = _by_slot(
        Response.objects.filter(randomised_in(scope, "family__"), of_shown, status__in=DONE)
        .annotate(off_window=Abs(2 * days - centre) - width)
        .values("family__site_id", "visit", "form")
        .annotate(
            complete=Count("family_id"),
            verified=Count("family_id", filter=Q(verified_at__isnull=False)),
            out_of_window=Count("family_id", filter=outside),
            unopened=Count("family_id", filter=unopened),
            closed=Count("family_id", filter=closed),
        )
        .order_by()
    )

    # Forms marked not done. A form is never both complete and marked not done (entry
    # refuses a form marked not done, and marking refuses an entered one), so these add to
    # the complete ones among the expected (window not yet opened) and the closed windows.
    not_done = _by_slot(
        NotDone.objects.filter(randomised_in(scope, "family__"), form__in=shown)
        .values("family__site_id", "visit", "form")
        .annotate(
            marked=Count("id"),
            unopened=Count("id", filter=unopened),
            closed=Count("id", filter=closed),
        )
        .order_by()
    )

    less_expected, less_overdue = (_by_site(s) for s in stopped_slots(scope, visits, shown))
    queries = queries_by_site(scope, shown, every_form)
    withdrawn = withdrawn_by_site(scope, cuts, shown)
    return {
        pk: SiteFigures(
            families=families.get(pk, {}),
            responses=responses.get(pk, {}),
            not_done=not_done.get(pk, {}),
            less_expected=less_expected.get(pk, {}),
            less_overdue=less_overdue.get(pk, {}),
            queries=queries.get(pk, {}),
            withdrawn=withdrawn.get(pk, {}),
        )
        for pk in scope.site_ids
    }


def quality_of(scope: ReportScope) -> Quality:
    """The data quality report for the scope, in a fixed number of queries: each site's
    counts are kept between views while its data stand as they were (sites.kept)."""
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
    cuts = [Cuts.of(v, on) for v in visits]
    # Every form the trial has is shown (nothing left out, nothing unscheduled): no test of
    # each response's form then, as every one of the trial's responses passes it.
    every_form = set(definitions) <= set(shown)
    given = (
        KEPT_AS,
        *scope.kept_key(),
        on,
        scope.by_arm,
        tuple(sorted((k, d.pk) for k, d in shown.items())),
        every_form,
    )
    figures = kept_by_site(
        scope.sites,
        "quality",
        given,
        lambda sites: _figures(replace(scope, sites=sites), visits, cuts, shown, every_form),
    )

    rows: list[FormCounts] = []
    for site in scope.sites:
        site_figures = figures[site.pk]
        counts = site_figures.families
        for i, visit in enumerate(visits):
            for form in visit.forms:
                if form not in shown:
                    continue
                slot = (visit.key, form)
                done = site_figures.responses.get(slot, {})
                marked = site_figures.not_done.get(slot, {})
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
                        - site_figures.less_expected.get(slot, 0),
                        complete=done.get("complete", 0),
                        overdue=counts.get(f"closed{i}", 0)
                        - done.get("closed", 0)
                        - marked.get("closed", 0)
                        - site_figures.less_overdue.get(slot, 0),
                        not_done=marked.get("marked", 0),
                        out_of_window=done.get("out_of_window", 0),
                    )
                )
    return Quality(
        on=on,
        start=scope.start,
        end=scope.end,
        by_arm=scope.by_arm,
        randomised=sum(f.families.get("randomised", 0) for f in figures.values()),
        rows=tuple(rows),
        totals=_totals(rows),
        sites=site_summaries(scope, rows, figures),
        retention=retention_of(cuts, figures),
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

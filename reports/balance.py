"""Baseline balance: the characteristics the definition's `reporting.baseline` lists, for the
families randomised (in the trial's current mode) at the sites in scope, from their baseline
visit's completed forms. Pooled over the arms for every viewer; split by arm as well only
for the closed report (`scope.closed`). The allocations by stratification factor level are
closed only.

Queries are bounded whatever the number of families, and the baseline responses are read in
one pass whatever the number of forms named: one GROUP BY (form, arm, each value the table
takes from them) counts the responses per distinct combination, from which the levels' counts
and the numbers' summaries (exact: mean, SD, median and quartiles from each distinct value's
count) follow. The same query on SQLite and PostgreSQL; no percentile function is needed. The
columns' sizes and a coded field of the family are counted in SQL. The pass is grouped by site
too, and each site's rows kept between views while its data stand as they were (sites.kept):
a view after a change at one site reads that site's responses again, not all."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KT

from core.errors import NotPermitted
from crf.models import Response
from crf.selectors import DONE, current_definitions
from crf.spec import FormField
from randomisation.factor_kinds import kind_of
from randomisation.models import Allocation
from sites.kept import kept_by_site
from trial.schema import RECORD_FIELDS

from .scope import ReportScope
from .summary import described_counts

ALL = "all"
ALL_LABEL = "All families"
NUMBER_TYPES = ("integer", "decimal")
LEVEL_TYPES = ("single", "yes_no", "multiple")
YES_NO = (("yes", "Yes"), ("no", "No"))
CLOSED_ONLY = "Only the unblinded statistician sees the arms compared."

# Through a family's allocations, from a form's response (joins shared within one filter()).
VIA_RESPONSE = "family__allocations__"


# -- what every report by arm shares ------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a report: all families, or one arm's."""

    key: str
    label: str
    families: int


def randomised(scope: ReportScope, *, in_range: bool = True) -> QuerySet[Allocation]:
    """The allocations of the current mode of the families at the sites in scope,
    randomised within the date range (unless `in_range` is False)."""
    return Allocation.objects.filter(
        scope.dates("randomised_at__date") if in_range else Q(),
        mode=scope.mode,
        family__trial=scope.trial,
        family__site_id__in=scope.site_ids,
    ).order_by()


def randomised_families(scope: ReportScope, via: str, *, in_range: bool = True) -> Q:
    """The same families, as a condition on a model that reaches the allocation by `via`
    (give it in the same filter() call as anything read through the join, so that the join
    is the one allocation of the current mode)."""
    return Q(
        scope.dates(f"{via}randomised_at__date") if in_range else Q(),
        **{
            f"{via}mode": scope.mode,
            "family__trial": scope.trial,
            "family__site_id__in": scope.site_ids,
        },
    )


def columns_of(scope: ReportScope, *, split: bool, in_range: bool = True) -> tuple[Column, ...]:
    """All families, then (split) one column per arm in the definition's order."""
    found = randomised(scope, in_range=in_range)
    if not split:
        return (Column(ALL, ALL_LABEL, found.count()),)
    sizes = dict(found.values_list("arm").annotate(n=Count("id")))
    arms = [Column(code, label, sizes.get(code, 0)) for code, label in scope.arms.items()]
    return (Column(ALL, ALL_LABEL, sum(sizes.values())), *arms)


def percent(count: int, of: int) -> float | None:
    return round(100 * count / of, 1) if of else None


# -- the balance table --------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One column's summary of a number: among the families with it recorded."""

    column: str
    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    missing: int


@dataclass(frozen=True)
class Cell:
    column: str
    count: int
    percent: float | None  # of the column's families with an answer


@dataclass(frozen=True)
class Level:
    key: str
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Characteristic:
    source: str
    label: str
    kind: str  # "number" or "levels"
    summaries: tuple[Summary, ...] = ()
    levels: tuple[Level, ...] = ()
    missing: tuple[int, ...] = ()  # families with no value, per column


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _number(text) -> float | None:
    if isinstance(text, bool) or text is None:
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _numbers(source, label, columns, counts: dict[str, Counter]) -> Characteristic:
    """A number's summary per column, from its distinct values' counts."""
    summaries = []
    for column in columns:
        d = described_counts(counts.get(column.key, {}))
        summaries.append(
            Summary(
                column=column.key,
                n=d.n,
                mean=_rounded(d.mean),
                sd=_rounded(d.sd),
                median=_rounded(d.median),
                q1=_rounded(d.q1),
                q3=_rounded(d.q3),
                missing=column.families - d.n,
            )
        )
    return Characteristic(
        source=source,
        label=label,
        kind="number",
        summaries=tuple(summaries),
        missing=tuple(s.missing for s in summaries),
    )


def _levels(
    source,
    label,
    columns,
    named: Iterable[tuple[str, str]],
    counts: dict[str, Counter],
    answered: dict[str, int],
) -> Characteristic:
    """Counts per level (a family counted once per level it has), in the order `named`
    gives, then any level recorded that it does not name."""
    order = dict(named)
    for counter in counts.values():
        for key in sorted(counter):
            order.setdefault(key, key)
    levels = tuple(
        Level(
            key=key,
            label=text,
            cells=tuple(
                Cell(
                    column=c.key,
                    count=counts.get(c.key, Counter())[key],
                    percent=percent(counts.get(c.key, Counter())[key], answered.get(c.key, 0)),
                )
                for c in columns
            ),
        )
        for key, text in order.items()
    )
    missing = tuple(c.families - answered.get(c.key, 0) for c in columns)
    return Characteristic(source=source, label=label, kind="levels", levels=levels, missing=missing)


def _level_keys(value) -> list[str]:
    """A recorded answer as level keys: yes/no, a choice, or each of several."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _choices(field: FormField | None) -> tuple[tuple[str, str], ...]:
    if field is None:
        return ()
    return YES_NO if field.type == "yes_no" else field.choices


@dataclass(frozen=True)
class _Row:
    source: str
    label: str
    form: str
    path: str  # the lookup of the value on the response
    field: FormField | None
    is_number: bool


def _rows_of(scope: ReportScope, definitions) -> list[_Row | tuple[str, str]]:
    rows: list[_Row | tuple[str, str]] = []
    for row in scope.config.reporting.baseline:
        parts = row.source.split(".")
        if parts[0] == "family":
            rows.append((row.source, row.label))
            continue
        definition = definitions.get(parts[0])
        spec = definition.spec if definition else None
        if parts[1] == "score":
            rows.append(
                _Row(row.source, row.label, parts[0], f"scores__{parts[2]}__value", None, True)
            )
            continue
        field = spec.field(parts[1]) if spec else None
        is_number = field is not None and field.type in NUMBER_TYPES
        rows.append(_Row(row.source, row.label, parts[0], f"values__{parts[1]}", field, is_number))
    return rows


def _family_field(scope, source, label, columns, split) -> Characteristic:
    """A coded field of the family's record, counted in SQL."""
    name = source.split(".")[1]
    lookup = f"family__{name}"
    grouped = randomised(scope).values_list(lookup, *(["arm"] if split else []))
    counts: dict[str, Counter] = defaultdict(Counter)
    answered: Counter = Counter()
    for found in grouped.annotate(n=Count("id")):
        value, n = found[0], found[-1]
        if not value:
            continue
        keys = [ALL] + ([found[1]] if split else [])
        for key in keys:
            counts[key][value] += n
            answered[key] += n
    codes = getattr(scope.config, RECORD_FIELDS.get(source, ""), None) or {}
    return _levels(source, label, columns, codes.items(), counts, answered)


def _baseline(scope: ReportScope, forms: list[str], visit: str) -> QuerySet[Response]:
    """The completed baseline responses of the forms, of the families in the report."""
    return Response.objects.filter(
        randomised_families(scope, VIA_RESPONSE), form__in=forms, visit=visit, status__in=DONE
    ).order_by()


def _read(scope: ReportScope, rows: list[_Row], split: bool, visit: str) -> "_Read":
    """The forms' answers and scores the table needs, counted in one GROUP BY of their
    completed baseline responses by form, arm and value: a number's distinct values with
    their counts (from which its summary is exact), an answer's families per level."""
    read = _Read()
    if not rows:
        return read
    paths = list(dict.fromkeys(r.path for r in rows))
    forms = list(dict.fromkeys(r.form for r in rows))
    given = (
        KEPT_AS,
        *scope.kept_key(),
        split,
        visit,
        tuple(forms),
        tuple(paths),
    )
    by_site = kept_by_site(
        scope.sites,
        "balance",
        given,
        lambda sites: _grouped(replace(scope, sites=sites), forms, paths, split, visit),
    )
    for found in (row for grouped in by_site.values() for row in grouped):
        form, n = found[0], found[-1]
        keys = [ALL, found[1]] if split else [ALL]
        got = dict(zip(paths, found[2:-1] if split else found[1:-1], strict=True))
        for r in rows:
            if r.form != form:
                continue
            if r.is_number:
                number = _number(got[r.path])
                if number is not None:
                    for key in keys:
                        read.numbers[r.source][key][number] += n
                continue
            levels = _level_keys(got[r.path])
            if not levels:
                continue
            for key in keys:
                read.answered[r.source][key] += n
                for level in levels:
                    read.counts[r.source][key][level] += n
    return read


# Changed whenever what a site's kept rows hold changes (sites.kept).
KEPT_AS = 2


def _grouped(
    scope: ReportScope, forms: list[str], paths: list[str], split: bool, visit: str
) -> dict[int, list[tuple]]:
    """Each site's completed baseline responses of the forms counted by form, arm (split)
    and the values read: kept per site while its data stand as they were (sites.kept)."""
    arm = [f"{VIA_RESPONSE}arm"] if split else []
    grouped = (
        _baseline(scope, forms, visit)
        .values_list("family__site_id", "form", *arm, *paths)
        .annotate(n=Count("id"))
    )
    found: dict[int, list[tuple]] = {pk: [] for pk in scope.site_ids}
    for site_id, *row in grouped:
        found[site_id].append(tuple(row))
    return found


@dataclass
class _Read:
    numbers: dict[str, dict[str, Counter]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )
    counts: dict[str, dict[str, Counter]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )
    answered: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


@dataclass(frozen=True)
class Balance:
    columns: tuple[Column, ...]
    characteristics: tuple[Characteristic, ...]
    by_arm: bool
    factor_levels: "FactorLevels | None" = None  # the closed report's only

    def as_dict(self) -> dict:
        return {
            "by_arm": self.by_arm,
            "columns": [vars(c) for c in self.columns],
            "factor_levels": self.factor_levels.as_dict() if self.factor_levels else None,
            "characteristics": [
                {
                    "source": c.source,
                    "label": c.label,
                    "kind": c.kind,
                    "summaries": [vars(s) for s in c.summaries],
                    "levels": [
                        {"key": lv.key, "label": lv.label, "cells": [vars(x) for x in lv.cells]}
                        for lv in c.levels
                    ],
                    "missing": [
                        {"column": col.key, "count": m}
                        for col, m in zip(self.columns, c.missing, strict=True)
                    ],
                }
                for c in self.characteristics
            ],
        }

    @staticmethod
    def csv_header() -> list[str]:
        return ["characteristic", "level or statistic", "column", "value"]

    def csv_rows(self) -> Iterator[list]:
        for c in self.characteristics:
            for s in c.summaries:
                for name in ("n", "mean", "sd", "median", "q1", "q3"):
                    value = getattr(s, name)
                    yield [c.label, name, s.column, "" if value is None else value]
            for lv in c.levels:
                for cell in lv.cells:
                    yield [c.label, lv.label, cell.column, cell.count]
            for col, m in zip(self.columns, c.missing, strict=True):
                yield [c.label, "missing", col.key, m]
        if self.factor_levels:
            yield from self.factor_levels.csv_rows()


def balance_of(scope: ReportScope) -> Balance:
    """The balance table for the scope: by arm too, with the allocations by factor level,
    for the closed report only."""
    split = scope.closed
    columns = columns_of(scope, split=split)
    schedule = scope.config.schedule
    baseline = schedule.baseline if schedule else None
    visit = baseline.key if baseline else ""
    definitions = current_definitions(scope.trial)
    rows = _rows_of(scope, definitions)
    wanted = [r for r in rows if isinstance(r, _Row)] if baseline else []
    read = _read(scope, wanted, split, visit)
    characteristics = []
    for row in rows:
        if isinstance(row, tuple):
            characteristics.append(_family_field(scope, *row, columns, split))
        elif row.is_number:
            characteristics.append(
                _numbers(row.source, row.label, columns, read.numbers[row.source])
            )
        else:
            characteristics.append(
                _levels(
                    row.source,
                    row.label,
                    columns,
                    _choices(row.field),
                    read.counts[row.source],
                    read.answered[row.source],
                )
            )
    return Balance(
        columns=columns,
        characteristics=tuple(characteristics),
        by_arm=split,
        factor_levels=factor_levels_of(scope, columns) if split else None,
    )


# -- allocations by stratification factor level (closed only) -----------------------------


@dataclass(frozen=True)
class FactorLevel:
    key: str
    label: str
    counts: tuple[int, ...]  # per column


@dataclass(frozen=True)
class FactorTable:
    key: str
    label: str
    levels: tuple[FactorLevel, ...]


@dataclass(frozen=True)
class FactorLevels:
    columns: tuple[Column, ...]
    factors: tuple[FactorTable, ...]

    def as_dict(self) -> dict:
        return {
            "columns": [vars(c) for c in self.columns],
            "factors": [
                {
                    "key": f.key,
                    "label": f.label,
                    "levels": [
                        {
                            "key": lv.key,
                            "label": lv.label,
                            "counts": [
                                {"column": c.key, "count": n}
                                for c, n in zip(self.columns, lv.counts, strict=True)
                            ],
                        }
                        for lv in f.levels
                    ],
                }
                for f in self.factors
            ],
        }

    def csv_rows(self) -> Iterator[list]:
        for f in self.factors:
            for lv in f.levels:
                for c, n in zip(self.columns, lv.counts, strict=True):
                    yield [f"Allocated by {f.label.lower()}", lv.label, c.key, n]


def factor_levels_of(scope: ReportScope, columns: tuple[Column, ...] = ()) -> FactorLevels:
    """Allocations per arm at each level of each stratification factor, as the levels were
    used at randomisation; refused to anyone but the closed report's reader."""
    if not scope.closed:
        raise NotPermitted(CLOSED_ONLY)
    columns = columns or columns_of(scope, split=True)
    factors = scope.config.randomisation.factors if scope.config.randomisation else []
    lookups = {f"level_{i}": KT(f"factor_values__{f.key}") for i, f in enumerate(factors)}
    counts: dict[int, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    grouped = (
        randomised(scope).annotate(**lookups).values_list("arm", *lookups).annotate(n=Count("id"))
    )
    for found in grouped:
        arm, levels, n = found[0], found[1:-1], found[-1]
        for i, level in enumerate(levels):
            counts[i][ALL][level or ""] += n
            counts[i][arm][level or ""] += n
    tables = []
    for i, factor in enumerate(factors):
        if factor.kind == "site":
            named = {s.code: s.code for s in scope.sites}
        else:
            named = dict(kind_of(factor).levels(factor, scope.trial))
        for level in sorted(set().union(*(c.keys() for c in counts[i].values()))):
            named.setdefault(level, level or "Not recorded")
        tables.append(
            FactorTable(
                key=factor.key,
                label=factor.label,
                levels=tuple(
                    FactorLevel(
                        key=key,
                        label=text,
                        counts=tuple(counts[i][c.key][key] for c in columns),
                    )
                    for key, text in named.items()
                ),
            )
        )
    return FactorLevels(columns=columns, factors=tuple(tables))

"""Serious adverse events: the events recorded on the definition's safety form
(`monitoring.safety.form`, an any-time form) for the families randomised at the sites in
scope, with the event date in the date range.

Pooled for every viewer: the number of events, the families with at least one, and the
events by kind, by seriousness criterion and by outcome. Relatedness to the intervention
and expectedness are left out of the pooled summary, since they can point to the arm; the
closed report (`scope.closed`) gives all of it by arm, those two included.

One query for the columns' sizes, one for the events (a short row each: SAEs are few)."""

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from crf.models import Response
from crf.selectors import DONE, current_definitions

from .balance import (
    ALL,
    VIA_RESPONSE,
    YES_NO,
    Cell,
    Column,
    Level,
    columns_of,
    percent,
    randomised_families,
)
from .scope import ReportScope

# The safety form's fields summarised for everyone, and those only the closed report shows
# because relatedness to the intervention (and so expectedness) can point to the arm. The
# outcome field is the one the definition's safety section names.
POOLED_FIELDS = ("kind", "seriousness")
CLOSED_FIELDS = ("relatedness", "expectedness")


@dataclass(frozen=True)
class EventGroup:
    """The events at each answer of one field of the form (an event that meets several
    seriousness criteria is counted under each)."""

    key: str
    label: str
    levels: tuple[Level, ...]


@dataclass(frozen=True)
class AdverseEvents:
    title: str
    columns: tuple[Column, ...]  # families randomised, per column
    events: tuple[int, ...]
    families: tuple[int, ...]  # with at least one event
    groups: tuple[EventGroup, ...]
    by_arm: bool

    @property
    def rows(self) -> list[tuple[Column, int, int, float | None]]:
        return [
            (c, e, f, percent(f, c.families))
            for c, e, f in zip(self.columns, self.events, self.families, strict=True)
        ]

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "by_arm": self.by_arm,
            "columns": [
                {**vars(c), "events": e, "families_with_event": f}
                for c, e, f in zip(self.columns, self.events, self.families, strict=True)
            ],
            "groups": [
                {
                    "key": g.key,
                    "label": g.label,
                    "levels": [
                        {"key": lv.key, "label": lv.label, "cells": [vars(x) for x in lv.cells]}
                        for lv in g.levels
                    ],
                }
                for g in self.groups
            ],
        }

    @staticmethod
    def csv_header() -> list[str]:
        return ["measure", "level", "column", "value"]

    def csv_rows(self) -> Iterator[list]:
        for c, e, f in zip(self.columns, self.events, self.families, strict=True):
            yield ["Families randomised", "", c.key, c.families]
            yield ["Events", "", c.key, e]
            yield ["Families with at least one event", "", c.key, f]
        for g in self.groups:
            for lv in g.levels:
                for cell in lv.cells:
                    yield [g.label, lv.label, cell.column, cell.count]


def _keys(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def adverse_events_of(scope: ReportScope) -> AdverseEvents:
    """The SAE summary for the scope: pooled, or by arm with every field for the closed
    report."""
    split = scope.closed
    safety = scope.config.monitoring.safety
    columns = columns_of(scope, split=split, in_range=False)
    if safety is None:
        zeros = tuple(0 for _ in columns)
        return AdverseEvents("", columns, zeros, zeros, (), split)
    definition = current_definitions(scope.trial).get(safety.form)
    spec = definition.spec if definition else None
    wanted = [*POOLED_FIELDS, safety.outcome_field, *(CLOSED_FIELDS if split else ())]
    fields = [(key, spec.field(key) if spec else None) for key in wanted]
    fields = [(key, field) for key, field in fields if spec is None or field is not None]
    arm = [f"{VIA_RESPONSE}arm"] if split else []
    found = (
        Response.objects.filter(
            randomised_families(scope, VIA_RESPONSE, in_range=False),
            scope.dates("dated_on"),
            form=safety.form,
            visit="",
            status__in=DONE,
        )
        .order_by()
        .values_list(*arm, "family_id", *(f"values__{key}" for key, _ in fields))
    )
    events: Counter = Counter()
    families: dict[str, set[int]] = defaultdict(set)
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for row in found:
        columns_hit = [ALL, row[0]] if split else [ALL]
        family, answers = row[len(arm)], row[len(arm) + 1 :]
        for column in columns_hit:
            events[column] += 1
            families[column].add(family)
            for (key, _), value in zip(fields, answers, strict=True):
                for level in _keys(value):
                    counts[key][column][level] += 1
    groups = []
    for key, field in fields:
        named = dict(
            YES_NO if field and field.type == "yes_no" else (field.choices if field else ())
        )
        for counter in counts[key].values():
            for level in sorted(counter):
                named.setdefault(level, level)
        groups.append(
            EventGroup(
                key=key,
                label=field.label if field else key,
                levels=tuple(
                    Level(
                        key=level,
                        label=text,
                        cells=tuple(
                            Cell(
                                column=c.key,
                                count=counts[key][c.key][level],
                                percent=percent(counts[key][c.key][level], events[c.key]),
                            )
                            for c in columns
                        ),
                    )
                    for level, text in named.items()
                ),
            )
        )
    return AdverseEvents(
        title=spec.title if spec else safety.form,
        columns=columns,
        events=tuple(events[c.key] for c in columns),
        families=tuple(len(families[c.key]) for c in columns),
        groups=tuple(groups),
        by_arm=split,
    )

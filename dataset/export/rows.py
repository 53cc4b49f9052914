"""The rows a bundle is written from, read in a fixed order and streamed (no form's
responses are held in memory at once): families by site and sequence, then each form's
responses and "not done" marks by family, visit, form and number."""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from crf.models import NotDone, Response
from randomisation.concealment import arms_for_unblinded_analysis
from randomisation.models import Allocation
from trial.models import Family, Withdrawal

from .scope import FormPart, Scope
from .variables import Answers, encoder, family_variables, not_done_values, value

CHUNK = 2000


@dataclass(frozen=True)
class FamilyRow:
    pk: int
    identifier: str
    site: str
    rank: int  # the family's place in the export's order
    randomised_on: date | None
    values: dict  # by family variable source


def family_table_variables(scope: Scope, arms: bool):
    config = scope.config
    return family_variables(
        legal_statuses=config.legal_statuses,
        age_bands=[(b.key, b.label) for b in config.age_bands],
        withdrawal_levels=[(w.key, w.label) for w in config.withdrawal_levels],
        arms=config.randomisation.arms if arms else None,
        dates=scope.dates,
    )


def families(scope: Scope) -> list[FamilyRow]:
    """Every family enrolled by the scope's time, in order. Allocations and withdrawals
    recorded after it are left out, so a locked state exports the same at any later time."""
    trial, as_of = scope.trial, scope.as_of
    mode = trial.randomisation_mode
    allocations = {
        family_id: (randomised_at, factors)
        for family_id, randomised_at, factors in Allocation.objects.filter(
            family__trial=trial, mode=mode, randomised_at__lte=as_of
        ).values_list("family_id", "randomised_at", "factor_values")
    }
    arms = (
        {}
        if scope.blinded
        else arms_for_unblinded_analysis(trial, mode=mode, randomised_before=as_of)
    )
    levels = [w.key for w in scope.config.withdrawal_levels]
    widest: dict[int, tuple[int, date]] = {}
    for family_id, level, on in (
        Withdrawal.objects.filter(family__trial=trial, recorded_at__lte=as_of)
        .order_by("family_id", "withdrawal_date", "id")
        .values_list("family_id", "level", "withdrawal_date")
    ):
        rank = levels.index(level) if level in levels else -1
        if family_id not in widest or rank > widest[family_id][0]:
            widest[family_id] = (rank, on)
    out = []
    query = (
        Family.objects.filter(trial=trial, created_at__lte=as_of)
        .order_by("site__code", "sequence")
        .values_list(
            "pk", "identifier", "site__code", "enrolled_on", "legal_status", "screening__age_band"
        )
    )
    for rank, (pk, identifier, site, enrolled_on, legal, band) in enumerate(query):
        randomised_at, factors = allocations.get(pk, (None, {}))
        randomised_on = timezone.localdate(randomised_at) if randomised_at else None
        withdrawn = widest.get(pk)
        values = {
            "randomised": randomised_on is not None,
            "randomised_on": randomised_on.isoformat() if randomised_on else None,
            "enrolled": enrolled_on.isoformat(),
            "legal_status": factors.get("legal_status", legal),
            "age_band": factors.get("age_band", band) or None,
            "arm": arms.get(pk),
            "withdrawal": levels[withdrawn[0]] if withdrawn and withdrawn[0] >= 0 else None,
            "withdrawal_date": withdrawn[1].isoformat() if withdrawn else None,
        }
        out.append(FamilyRow(pk, identifier, site, rank, randomised_on, values))
    return out


def family_values(scope: Scope, row: FamilyRow, variables) -> list:
    answers = Answers(values=row.values)
    return [value(v, answers, row.randomised_on) for v in variables]


@dataclass(frozen=True)
class Record:
    family: FamilyRow
    visit: str
    number: int
    part: FormPart
    version: int | None  # None: marked not done
    status: str
    dated_on: date | None
    values: list  # in the order of part.variables

    @property
    def visit_day(self) -> int | None:
        if self.dated_on is None or self.family.randomised_on is None:
            return None
        return (self.dated_on - self.family.randomised_on).days


def _rank(field: str, keys: dict[str, int]) -> Case:
    return Case(
        *(When(**{field: key}, then=Value(n)) for key, n in keys.items()),
        default=Value(len(keys)),
        output_field=IntegerField(),
    )


def records(
    scope: Scope, parts: tuple[FormPart, ...], by_family: dict[int, FamilyRow]
) -> Iterator[Record]:
    """The parts' responses and not-done marks, ordered by family, visit, form, number."""
    visit_rank = scope.visit_order
    form_rank = {p.form: n for n, p in enumerate(parts)}
    part_of = {p.form: p for p in parts}
    encode = {p.form: encoder(p.variables) for p in parts}
    not_done_row = {p.form: not_done_values(p.variables) for p in parts}
    ordering = ("family__site__code", "family__sequence", "visit_rank", "form_rank", "number")
    responses = (
        Response.objects.filter(
            family__trial=scope.trial, form__in=form_rank, family__created_at__lte=scope.as_of
        )
        .annotate(visit_rank=_rank("visit", visit_rank), form_rank=_rank("form", form_rank))
        .order_by(*ordering)
        .values_list(
            "family_id",
            "visit",
            "number",
            "form",
            "definition__version",
            "status",
            "dated_on",
            "values",
            "missing",
            "scores",
        )
        .iterator(chunk_size=CHUNK)
    )
    not_done = (
        NotDone.objects.filter(
            family__trial=scope.trial, form__in=form_rank, recorded_at__lte=scope.as_of
        )
        .annotate(visit_rank=_rank("visit", visit_rank), form_rank=_rank("form", form_rank))
        .order_by("family__site__code", "family__sequence", "visit_rank", "form_rank")
        .values_list("family_id", "visit", "form")
        .iterator(chunk_size=CHUNK)
    )

    def answered():
        for (
            fid,
            visit,
            number,
            form,
            version,
            status,
            dated_on,
            values,
            missing,
            scores,
        ) in responses:
            family = by_family.get(fid)
            if family is None:
                continue
            part = part_of[form]
            yield (
                (family.rank, visit_rank.get(visit, 0), form_rank[form], number),
                Record(
                    family,
                    visit,
                    number,
                    part,
                    version,
                    status,
                    dated_on,
                    encode[form](values, missing, scores, family.randomised_on),
                ),
            )

    def marked():
        for fid, visit, form in not_done:
            family = by_family.get(fid)
            if family is None:
                continue
            part = part_of[form]
            yield (
                (family.rank, visit_rank.get(visit, 0), form_rank[form], 1),
                Record(
                    family,
                    visit,
                    1,
                    part,
                    None,
                    "not_done",
                    None,
                    list(not_done_row[form]),
                ),
            )

    for _, record in heapq.merge(answered(), marked(), key=lambda pair: pair[0]):
        yield record

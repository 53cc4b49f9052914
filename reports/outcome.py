"""The primary outcome so far, by arm: for the closed report only. Analysed: the families
randomised (in the date range, at the sites in scope) whose primary outcome form is complete
at its visit; the outcome is its yes/no field. The difference in proportions with a 95 %
Wald interval is descriptive, not the trial's analysis (which the statistical analysis plan
sets: adjusted for the stratification factors, on the locked data).

Two queries: the columns' sizes, and the completed forms counted by arm and answer."""

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count

from core.errors import NotPermitted
from crf.models import Response
from crf.selectors import DONE, current_definitions

from .balance import ALL, CLOSED_ONLY, VIA_RESPONSE, columns_of, randomised_families
from .scope import ReportScope
from .summary import difference_in_proportions, proportion

DESCRIPTIVE = (
    "A descriptive difference with a simple 95 % Wald interval: not the trial's analysis, "
    "which the statistical analysis plan sets."
)


@dataclass(frozen=True)
class OutcomeColumn:
    key: str
    label: str
    randomised: int
    analysed: int
    yes: int
    no: int

    @property
    def proportion(self) -> float | None:
        return proportion(self.yes, self.yes + self.no)


@dataclass(frozen=True)
class Comparison:
    """One arm's proportion minus another's."""

    first: str
    first_label: str
    second: str
    second_label: str
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class PrimaryOutcome:
    question: str
    visit: str
    columns: tuple[OutcomeColumn, ...]
    comparisons: tuple[Comparison, ...]
    note: str = DESCRIPTIVE

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "visit": self.visit,
            "columns": [{**vars(c), "proportion": _r(c.proportion)} for c in self.columns],
            "comparisons": [
                {**vars(c), "estimate": _r(c.estimate), "low": _r(c.low), "high": _r(c.high)}
                for c in self.comparisons
            ],
            "note": self.note,
        }

    @staticmethod
    def csv_header() -> list[str]:
        return ["measure", "column", "value"]

    def csv_rows(self) -> Iterator[list]:
        for c in self.columns:
            yield ["randomised", c.key, c.randomised]
            yield ["analysed", c.key, c.analysed]
            yield ["yes", c.key, c.yes]
            yield ["no", c.key, c.no]
            yield ["proportion yes", c.key, "" if c.proportion is None else _r(c.proportion)]
        for d in self.comparisons:
            name = f"difference {d.first} minus {d.second}"
            yield [f"{name}: estimate", "", _r(d.estimate)]
            yield [f"{name}: 95% Wald interval low", "", _r(d.low)]
            yield [f"{name}: 95% Wald interval high", "", _r(d.high)]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def outcome_of(scope: ReportScope) -> PrimaryOutcome:
    """The primary outcome so far by arm; refused to anyone but the closed report's reader."""
    if not scope.closed:
        raise NotPermitted(CLOSED_ONLY)
    rule = scope.config.reporting.primary_outcome
    columns = columns_of(scope, split=True)
    if rule is None:
        return PrimaryOutcome(
            "", "", tuple(OutcomeColumn(c.key, c.label, c.families, 0, 0, 0) for c in columns), ()
        )
    answers: dict[str, Counter] = defaultdict(Counter)
    grouped = (
        Response.objects.filter(
            randomised_families(scope, VIA_RESPONSE),
            form=rule.form,
            visit=rule.visit,
            status__in=DONE,
        )
        .order_by()
        .values_list(f"{VIA_RESPONSE}arm", f"values__{rule.field}")
        .annotate(n=Count("id"))
    )
    for arm, value, n in grouped:
        answer = "yes" if value is True else "no" if value is False else "other"
        answers[arm][answer] += n
        answers[ALL][answer] += n
    table = tuple(
        OutcomeColumn(
            key=c.key,
            label=c.label,
            randomised=c.families,
            analysed=sum(answers[c.key].values()),
            yes=answers[c.key]["yes"],
            no=answers[c.key]["no"],
        )
        for c in columns
    )
    arms = [c for c in table if c.key != ALL]
    # Each arm against the last one (the control, in the definition's order).
    comparisons = []
    for first in arms[:-1]:
        second = arms[-1]
        d = difference_in_proportions(
            first.yes, first.yes + first.no, second.yes, second.yes + second.no
        )
        if d is not None:
            comparisons.append(
                Comparison(
                    first.key, first.label, second.key, second.label, d.estimate, d.low, d.high
                )
            )
    definition = current_definitions(scope.trial).get(rule.form)
    field = definition.spec.field(rule.field) if definition else None
    visit = scope.config.schedule.visit(rule.visit) if scope.config.schedule else None
    return PrimaryOutcome(
        question=field.label if field else rule.field,
        visit=visit.label if visit else rule.visit,
        columns=table,
        comparisons=tuple(comparisons),
    )

"""Instrument scores from item responses, as the spec declares them. Pure Python.

A score is a sum or a mean over items of a grid, with reverse-keyed items turned round on
the grid's scale. Up to `prorate_max_missing` missing items are allowed: a sum is then
prorated (the mean of the answered items times the number of items); more missing, no
score. A score marked unconfirmed in the spec (a rule not certain from a public source) is
left uncomputed."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .spec import FormSpec, Score


@dataclass(frozen=True)
class ScoreResult:
    key: str
    value: Decimal | None
    answered: int
    missing: int
    prorated: bool = False
    reason: str = ""


def _one(spec: FormSpec, score: Score, values: dict[str, Any]) -> ScoreResult:
    grid = spec.field(score.grid)
    low, high = grid.minimum, grid.maximum
    items = score.items or list(range(1, grid.items + 1))  # no items listed: every item
    answers = []
    for n in items:
        value = values.get(f"{grid.key}_{n}")
        if isinstance(value, int):
            answers.append(high + low - value if n in score.reverse else value)
    missing = len(items) - len(answers)
    if score.status != "confirmed":
        return ScoreResult(
            score.key,
            None,
            len(answers),
            missing,
            reason=f"scoring not confirmed: {score.note}".strip(),
        )
    if missing > score.prorate_max_missing or not answers:
        return ScoreResult(
            score.key,
            None,
            len(answers),
            missing,
            reason=f"{missing} items missing (at most {score.prorate_max_missing} allowed)",
        )
    mean = Decimal(sum(answers)) / len(answers)
    value = mean if score.method == "mean" else mean * len(items)
    value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return ScoreResult(
        score.key, value, len(answers), missing, prorated=missing > 0 and score.method == "sum"
    )


def scores(spec: FormSpec, values: dict[str, Any]) -> dict[str, ScoreResult]:
    return {s.key: _one(spec, s, values) for s in spec.scores}


def alerts(spec: FormSpec, values: dict[str, Any]) -> list[str]:
    """The keys of the alert rules the values set off."""
    return [
        a.key
        for a in spec.alerts
        if isinstance(values.get(a.field), int | float) and values[a.field] > a.greater_than
    ]

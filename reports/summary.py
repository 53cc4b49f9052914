"""Descriptive statistics of the reports: a number's summary (mean, SD, median, quartiles)
and a difference in proportions with its Wald interval. Pure Python: no Django import.

Quartiles are the inclusive ones (R's default, type 7): for n values sorted, the p-quantile
is read at position p (n - 1), interpolating between neighbours; so the median and quartiles
of one value are that value."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import sqrt
from statistics import fmean, stdev

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile


@dataclass(frozen=True)
class Described:
    """A number's summary over the values given; None where it is not defined (no values;
    an SD needs two)."""

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None


def quantile(ordered: list[float], p: float) -> float:
    """The inclusive p-quantile (0 <= p <= 1) of values already sorted, at least one."""
    position = p * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def described(values: Iterable[float]) -> Described:
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return Described(n=0, mean=None, sd=None, median=None, q1=None, q3=None)
    return Described(
        n=len(ordered),
        mean=fmean(ordered),
        sd=stdev(ordered) if len(ordered) > 1 else None,
        median=quantile(ordered, 0.5),
        q1=quantile(ordered, 0.25),
        q3=quantile(ordered, 0.75),
    )


def described_counts(counts: Mapping[float, int]) -> Described:
    """The same summary as `described`, from each distinct value's count (a GROUP BY's
    answer): no list of every value is built."""
    ordered = sorted((float(v), n) for v, n in counts.items() if n > 0)
    total = sum(n for _, n in ordered)
    if not total:
        return Described(n=0, mean=None, sd=None, median=None, q1=None, q3=None)
    mean = sum(v * n for v, n in ordered) / total
    sd = None
    if total > 1:
        sd = sqrt(sum(n * (v - mean) ** 2 for v, n in ordered) / (total - 1))

    def at(position: int) -> float:  # the value at a 0-based position in sorted order
        seen = 0
        for value, n in ordered:
            seen += n
            if position < seen:
                return value
        return ordered[-1][0]

    def quantile_of(p: float) -> float:
        position = p * (total - 1)
        below = int(position)
        low, high = at(below), at(min(below + 1, total - 1))
        return low + (high - low) * (position - below)

    return Described(
        n=total,
        mean=mean,
        sd=sd,
        median=quantile_of(0.5),
        q1=quantile_of(0.25),
        q3=quantile_of(0.75),
    )


@dataclass(frozen=True)
class Difference:
    """p1 - p2 with its 95 % Wald interval."""

    estimate: float
    low: float
    high: float


def proportion(yes: int, n: int) -> float | None:
    return yes / n if n else None


def difference_in_proportions(yes1: int, n1: int, yes2: int, n2: int) -> Difference | None:
    """The difference of two proportions with its 95 % Wald interval, None when either has
    no one in it. Descriptive: the interval ignores strata and is poor near 0 and 1."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = yes1 / n1, yes2 / n2
    half = Z_95 * sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    estimate = p1 - p2
    return Difference(estimate=estimate, low=estimate - half, high=estimate + half)

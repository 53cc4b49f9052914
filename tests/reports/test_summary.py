"""The reports' descriptive statistics, as pure functions: closed forms and properties."""

import random
import statistics
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.summary import (
    described,
    described_counts,
    difference_in_proportions,
    proportion,
    quantile,
)

values = st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=60)


def test_a_known_sample():
    d = described([20, 30, 40, 25, 35])
    assert (d.n, d.mean, d.median, d.q1, d.q3) == (5, 30, 30, 25, 35)
    assert d.sd == pytest.approx(7.9057, abs=1e-4)


def test_nothing_and_one_value():
    assert described([]).n == 0 and described([]).mean is None
    one = described([7])
    assert (one.mean, one.sd, one.median, one.q1, one.q3) == (7, None, 7, 7, 7)


@given(values)
def test_quartiles_are_ordered_within_the_range(sample):
    d = described(sample)
    assert min(sample) <= d.q1 <= d.median <= d.q3 <= max(sample)
    assert min(sample) <= d.mean <= max(sample)


@given(values)
def test_they_agree_with_the_standard_library(sample):
    d = described(sample)
    assert d.median == pytest.approx(statistics.median(sample))
    assert d.mean == pytest.approx(statistics.fmean(sample))
    if len(sample) > 1:
        q1, _, q3 = statistics.quantiles(sample, n=4, method="inclusive")
        assert (d.q1, d.q3) == (pytest.approx(q1), pytest.approx(q3))
        assert d.sd == pytest.approx(statistics.stdev(sample))


@given(values, st.floats(min_value=0, max_value=1))
def test_a_quantile_does_not_depend_on_the_order_given(sample, p):
    assert quantile(sorted(sample), p) == quantile(sorted(reversed(sample)), p)


def test_the_wald_interval_in_closed_form():
    d = difference_in_proportions(30, 50, 20, 50)
    half = 1.959963984540054 * (0.6 * 0.4 / 50 + 0.4 * 0.6 / 50) ** 0.5
    assert d.estimate == pytest.approx(0.2)
    assert (d.low, d.high) == (pytest.approx(0.2 - half), pytest.approx(0.2 + half))
    assert difference_in_proportions(1, 0, 1, 3) is None
    assert proportion(0, 0) is None


@given(
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    ),
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    ),
)
def test_the_interval_holds_the_estimate_and_flips_with_the_arms(first, second):
    d = difference_in_proportions(*first, *second)
    back = difference_in_proportions(*second, *first)
    assert d.low <= d.estimate <= d.high
    assert -1 <= d.estimate <= 1
    assert back.estimate == pytest.approx(-d.estimate)
    assert (back.low, back.high) == (pytest.approx(-d.high), pytest.approx(-d.low))


def test_the_summary_from_counts_is_the_summary_of_the_values():
    rng = random.Random(15)
    for size in (1, 2, 3, 7, 40, 301):
        values = [rng.choice([1.5, 2, 2, 3, 10, 11.25, 40]) for _ in range(size)]
        counts = Counter(values)
        want, got = described(values), described_counts(counts)
        assert got.n == want.n
        for name in ("mean", "sd", "median", "q1", "q3"):
            a, b = getattr(want, name), getattr(got, name)
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12, abs=1e-12)
    assert described_counts({}).n == 0 and described_counts({4.0: 0}).mean is None
    one = described_counts({7: 1})
    assert (one.mean, one.sd, one.median, one.q1, one.q3) == (7, None, 7, 7, 7)

"""The recruitment plan and projection, pure: the linear plan's figures, the Gamma quantiles
against closed forms, and the projection's properties (ordered interval, more to go never
sooner, no projection without a recent rate)."""

import math
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.projection import (
    HORIZON_DAYS,
    gamma_quantile,
    is_behind,
    month_end,
    months_from,
    planned_by,
    poisson_interval,
    projected,
    projection_in_words,
)

TODAY = date(2026, 6, 15)
START, END = date(2026, 1, 5), date(2028, 1, 4)

counts = st.integers(min_value=1, max_value=2_000)
targets = st.integers(min_value=1, max_value=5_000)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def _far(day: date | None) -> date:
    return day or date.max


def test_the_plan_is_a_straight_line_from_its_first_day_to_its_last():
    assert planned_by(START - timedelta(days=1), start=START, end=END, target=150) == 0
    assert planned_by(START, start=START, end=END, target=150) == pytest.approx(150 / 730)
    assert planned_by(date(2026, 6, 15), start=START, end=END, target=150) == pytest.approx(
        150 * 162 / 730
    )
    assert planned_by(END, start=START, end=END, target=150) == 150
    assert planned_by(END + timedelta(days=9), start=START, end=END, target=150) == 150


def test_behind_is_more_than_ten_percent_below_the_plan():
    assert not is_behind(9, 10) and is_behind(8, 10)
    assert not is_behind(0, 0)


@given(days, days, st.integers(min_value=0, max_value=1_000))
def test_the_plan_never_falls(first, second, target):
    early, late = sorted((first, second))
    assert planned_by(early, start=START, end=END, target=target) <= planned_by(
        late, start=START, end=END, target=target
    )


@given(days, days)
def test_months_from_covers_every_month_once(first, second):
    early, late = sorted((first, second))
    months = list(months_from(early, late))
    assert months[0] == early.replace(day=1) and months[-1] == late.replace(day=1)
    for before, after in pairwise(months):
        assert after == month_end(before) + timedelta(days=1)


def test_gamma_quantiles_match_closed_forms():
    # Gamma(1) is the exponential: its p-quantile is -log(1 - p).
    assert gamma_quantile(0.1, 1) == pytest.approx(-math.log(0.9), rel=1e-9)
    assert gamma_quantile(0.9, 1) == pytest.approx(-math.log(0.1), rel=1e-9)
    # Gamma(k) is half a chi-squared on 2k degrees of freedom (tables: 26 df, 0.9: 35.563).
    assert gamma_quantile(0.9, 13) == pytest.approx(35.563 / 2, abs=1e-3)
    assert gamma_quantile(0.1, 12) == pytest.approx(15.659 / 2, abs=1e-3)  # 24 df, 0.1


@given(st.integers(min_value=0, max_value=5_000))
def test_the_poisson_interval_holds_the_count(count):
    low, high = poisson_interval(count)
    assert 0 <= low <= count < high


@given(counts, targets, st.integers(min_value=0, max_value=5_000))
def test_the_interval_is_ordered(recent, target, randomised):
    p = projected(today=TODAY, target=target, randomised=randomised, recent=recent)
    if randomised >= target:
        assert p.status == "reached" and p.central is None
        return
    assert p.status == "projected"
    assert TODAY <= _far(p.earliest) <= _far(p.central) <= _far(p.latest)


@given(counts, targets, st.integers(min_value=0, max_value=5_000), st.integers(1, 500))
def test_more_to_go_is_never_sooner(recent, target, randomised, more):
    fewer = projected(today=TODAY, target=target, randomised=randomised, recent=recent)
    larger = projected(today=TODAY, target=target + more, randomised=randomised, recent=recent)
    for name in ("earliest", "central", "latest"):
        assert _far(getattr(fewer, name) or (TODAY if fewer.status == "reached" else None)) <= (
            _far(getattr(larger, name))
        )


@given(counts, counts, targets)
def test_a_faster_recent_rate_is_never_later(slow, extra, target):
    one = projected(today=TODAY, target=target, randomised=0, recent=slow)
    two = projected(today=TODAY, target=target, randomised=0, recent=slow + extra)
    assert _far(two.central) <= _far(one.central)


@given(targets, st.integers(min_value=0, max_value=5_000))
def test_no_recent_randomisation_gives_no_projection(target, randomised):
    p = projected(today=TODAY, target=target, randomised=randomised, recent=0)
    if randomised < target:
        assert p.status == "no_recent"
        assert (p.central, p.earliest, p.latest, p.per_month) == (None, None, None, None)
        assert "no recent rate" in projection_in_words(p)


def test_the_central_date_is_today_plus_what_remains_over_the_rate():
    p = projected(today=TODAY, target=150, randomised=40, recent=12)
    assert p.central == TODAY + timedelta(days=math.ceil(110 * 90 / 12))
    assert p.per_month == pytest.approx(12 / 90 * 365.25 / 12)


def test_in_words_with_the_plan_end():
    p = projected(today=date(2026, 12, 6), target=150, randomised=40, recent=12)
    text = projection_in_words(p, planned_end=END)
    assert text == (
        "At the rate of the last 3 months (12 families, about 4 a month) the target of 150 "
        "would be reached around March 2029; at rates as slow or as fast as those months "
        "could plausibly reflect, between June 2028 and May 2030. That is 14 months after "
        "the planned end of recruitment (January 2028)."
    )
    reached = projected(today=TODAY, target=150, randomised=151, recent=3)
    assert projection_in_words(reached) == (
        "The target of 150 has been reached: 151 families randomised."
    )


def test_a_date_beyond_a_century_is_not_given():
    p = projected(today=TODAY, target=100_000, randomised=0, recent=1)
    assert p.latest is None and p.central is None
    assert (p.central or date.max) > TODAY + timedelta(days=HORIZON_DAYS - 1)
    assert "more than 100 years from now" in projection_in_words(p, planned_end=END)

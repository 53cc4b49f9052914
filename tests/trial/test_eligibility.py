"""Eligibility at its edges. Rules from the ReConnect definition: under 24 months at
referral; an unborn child from 28 weeks' gestation; no final care or placement order."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trial.config import config_of
from trial.eligibility import CHILD_AGE, age_band, assess, child_age_on

from .conftest import ELIGIBLE

REFERRAL = date(2026, 6, 15)


@pytest.fixture
def rules(world):
    return config_of(world.trial).eligibility


def test_a_child_one_day_under_24_months_is_eligible(rules):
    age = child_age_on(REFERRAL, date_of_birth=date(2024, 6, 16))
    assert age.age_months == 23
    assert assess(rules, age, ELIGIBLE).eligible


def test_a_child_on_the_24_month_limit_is_not(rules):
    age = child_age_on(REFERRAL, date_of_birth=date(2024, 6, 15))
    assert age.age_months == 24
    assert assess(rules, age, ELIGIBLE).failed == CHILD_AGE


def test_a_leap_day_birthday_reaches_24_months_on_28_february(rules):
    assert assess(
        rules, child_age_on(date(2026, 2, 27), date_of_birth=date(2024, 2, 29)), ELIGIBLE
    ).eligible
    assert not assess(
        rules, child_age_on(date(2026, 2, 28), date_of_birth=date(2024, 2, 29)), ELIGIBLE
    ).eligible


def test_an_unborn_child_at_27_weeks_6_days_is_not_eligible(rules):
    due = REFERRAL + timedelta(days=280 - (28 * 7 - 1))
    age = child_age_on(REFERRAL, expected_due_date=due)
    assert (age.born, age.gestation_days) == (False, 28 * 7 - 1)
    assert assess(rules, age, ELIGIBLE).failed == CHILD_AGE


def test_an_unborn_child_at_28_weeks_is_eligible(rules):
    due = REFERRAL + timedelta(days=280 - 28 * 7)
    age = child_age_on(REFERRAL, expected_due_date=due)
    assert age.gestation_weeks == 28 and assess(rules, age, ELIGIBLE).eligible


def test_a_final_care_order_already_made_excludes(rules):
    age = child_age_on(REFERRAL, date_of_birth=date(2026, 1, 1))
    verdict = assess(rules, age, {**ELIGIBLE, "final_order_made": True})
    assert (verdict.eligible, verdict.failed) == (False, "final_order_made")


def test_an_unmet_inclusion_is_named(rules):
    age = child_age_on(REFERRAL, date_of_birth=date(2026, 1, 1))
    assert (
        assess(rules, age, {**ELIGIBLE, "known_to_social_care": False}).failed
        == "known_to_social_care"
    )


def test_an_unanswered_criterion_is_refused(rules):
    age = child_age_on(REFERRAL, date_of_birth=date(2026, 1, 1))
    answers = {k: v for k, v in ELIGIBLE.items() if k != "leaving_area"}
    with pytest.raises(KeyError, match="leaving_area"):
        assess(rules, age, answers)


def test_a_date_of_birth_after_the_referral_is_refused():
    with pytest.raises(ValueError, match="after the referral"):
        child_age_on(REFERRAL, date_of_birth=REFERRAL + timedelta(days=1))


def test_age_bands_from_dates(world):
    bands = config_of(world.trial).age_bands
    assert age_band(bands, child_age_on(REFERRAL, expected_due_date=REFERRAL)) == "under_6m"
    assert age_band(bands, child_age_on(REFERRAL, date_of_birth=date(2025, 12, 16))) == "under_6m"
    assert age_band(bands, child_age_on(REFERRAL, date_of_birth=date(2025, 12, 15))) == "6_to_24m"


@given(st.dates(min_value=date(2020, 1, 1), max_value=REFERRAL))
def test_age_in_months_never_runs_backwards(born):
    a = child_age_on(REFERRAL, date_of_birth=born)
    b = child_age_on(REFERRAL + timedelta(days=1), date_of_birth=born)
    assert b.age_months >= a.age_months and b.age_days == a.age_days + 1

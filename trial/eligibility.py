"""Ages and eligibility at referral. Pure Python: no Django import.

Ages are derived from dates, never typed: a born child's age from the date of birth, an
unborn child's gestation from the expected due date (a due date is 40 weeks' gestation).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta
from pydantic import Field

from core.schema import Flag, Key, Schema, Text, Whole

FULL_TERM_DAYS = 280
CHILD_AGE = "child_age"  # the failed "criterion" when the child's age or gestation is outside
CHILD_AGE_TEXT = "The child's age (or gestation) is outside the trial's range"


@dataclass(frozen=True)
class ChildAge:
    """A child's age on a date: born (age in days and whole months) or unborn (gestation)."""

    born: bool
    age_days: int | None = None
    age_months: int | None = None
    gestation_days: int | None = None

    @property
    def gestation_weeks(self) -> int | None:
        return None if self.gestation_days is None else self.gestation_days // 7


def child_age_on(
    on: date, *, date_of_birth: date | None = None, expected_due_date: date | None = None
) -> ChildAge:
    if (date_of_birth is None) == (expected_due_date is None):
        raise ValueError("give the child's date of birth, or the expected due date if unborn")
    if date_of_birth is not None:
        if date_of_birth > on:
            raise ValueError("the child's date of birth is after the referral date")
        months = relativedelta(on, date_of_birth)
        return ChildAge(
            born=True,
            age_days=(on - date_of_birth).days,
            age_months=months.years * 12 + months.months,
        )
    assert expected_due_date is not None
    if expected_due_date < on - timedelta(days=14 * 7):
        raise ValueError("the expected due date is long past: record the date of birth instead")
    return ChildAge(born=False, gestation_days=FULL_TERM_DAYS - (expected_due_date - on).days)


class Criterion(Schema):
    key: Key
    kind: Literal["inclusion", "exclusion"] = Field(
        description="inclusion: must be answered yes; exclusion: must be answered no"
    )
    text: Text


class EligibilityRules(Schema):
    max_age_months: Whole = Field(ge=1, description="a born child must be younger")
    min_gestation_weeks: Whole = Field(ge=1, description="an unborn child must be this far on")
    criteria: list[Criterion] = Field(min_length=1)


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    failed: str = ""  # the first criterion not met (CHILD_AGE for the age rule)


def assess(rules: EligibilityRules, age: ChildAge, answers: Mapping[str, bool]) -> Verdict:
    """Every criterion must be answered; the first not met is named (for CONSORT)."""
    for criterion in rules.criteria:
        if not isinstance(answers.get(criterion.key), bool):
            raise KeyError(criterion.key)
    if age.born:
        assert age.age_months is not None
        if age.age_months >= rules.max_age_months:
            return Verdict(False, CHILD_AGE)
    elif (age.gestation_days or 0) < rules.min_gestation_weeks * 7:
        return Verdict(False, CHILD_AGE)
    for criterion in rules.criteria:
        met = (
            answers[criterion.key] if criterion.kind == "inclusion" else not answers[criterion.key]
        )
        if not met:
            return Verdict(False, criterion.key)
    return Verdict(True)


class AgeBand(Schema):
    key: Key
    label: Text
    below_months: Whole = Field(ge=1)
    includes_unborn: Flag = False


def age_band(bands: Sequence[AgeBand], age: ChildAge) -> str:
    """The key of the child's age band; an unborn child falls in the band that includes
    unborn children."""
    for band in bands:
        if not age.born and band.includes_unborn:
            return band.key
        if age.born and age.age_months is not None and age.age_months < band.below_months:
            return band.key
    return ""

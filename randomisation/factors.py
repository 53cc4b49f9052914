"""A family's stratification factors, derived from what is recorded (never retyped)."""

from datetime import date

from core.errors import TrialError
from trial.config import config_of
from trial.models import Family


def factor_values(family: Family, on: date) -> dict[str, str]:
    """The factor levels as they stand on `on`; refuses, naming the factor, any that is
    missing."""
    config = config_of(family.trial)
    values = {}
    for factor in config.randomisation.factors:
        if factor == "site":
            values[factor] = family.site.code
        elif factor == "legal_status":
            if family.legal_status not in config.legal_statuses:
                raise TrialError("The family's legal status is not recorded.", field="legal_status")
            values[factor] = family.legal_status
        elif factor == "age_band":
            # The band at referral, derived there from the date of birth or due date: the
            # stratum stays put if the child has a birthday before randomisation.
            if not family.screening.age_band:
                raise TrialError("The child's age band at referral is not known.", field="age_band")
            values[factor] = family.screening.age_band
    return values


def stratum_key(values: dict[str, str]) -> str:
    return "|".join(f"{factor}={level}" for factor, level in values.items())

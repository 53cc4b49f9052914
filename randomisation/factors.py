"""A family's stratification factors, derived from what is recorded (never retyped)."""

from datetime import date

from trial.config import config_of
from trial.eligibility import age_band, child_age_on
from trial.errors import TrialError
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
            child = family.participants.get(role="child").identity
            try:
                age = child_age_on(
                    on,
                    date_of_birth=child.date_of_birth,
                    expected_due_date=None if child.date_of_birth else child.expected_due_date,
                )
            except ValueError as exc:
                raise TrialError(
                    "The child's age band cannot be derived: record the date of birth.",
                    field="age_band",
                ) from exc
            band = age_band(config.age_bands, age)
            if not band:
                raise TrialError("The child is older than every age band.", field="age_band")
            values[factor] = band
    return values


def stratum_key(values: dict[str, str]) -> str:
    return "|".join(f"{factor}={level}" for factor, level in values.items())

"""A family's stratification factors, read from what is recorded (never retyped), each where
the trial's definition says (its kind and source)."""

from datetime import date

from core.errors import TrialError
from trial.config import config_of
from trial.models import Family

from .factor_kinds import kind_of


def factor_values(family: Family, on: date) -> dict[str, str]:
    """The factor levels as they stand on `on`, by factor key; refuses, naming the factor's
    key as the field, any that is missing."""
    values = {}
    for factor in config_of(family.trial).randomisation.factors:
        kind = kind_of(factor)
        level = kind.level(factor, family, on)
        if level is None:
            raise TrialError(kind.missing(factor, family), field=factor.key)
        values[factor.key] = level
    return values


def factor_words(family: Family, values: dict[str, str]) -> list[tuple[str, str]]:
    """Each factor's label and its level's label, for the family's levels `values`."""
    words = []
    for factor in config_of(family.trial).randomisation.factors:
        if factor.key in values:
            levels = kind_of(factor).levels(factor, family.trial, site=family.site)
            words.append((factor.label, levels.get(values[factor.key], values[factor.key])))
    return words


def stratum_key(values: dict[str, str]) -> str:
    return "|".join(f"{factor}={level}" for factor, level in values.items())

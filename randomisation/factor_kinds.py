"""Kinds of stratification factor: for each, how a family's level is read and how the
factor's levels are listed (so that strata can be). A trial's definition names each
factor's kind and source; which code reads a kind is configuration
(`RANDOMISATION_FACTOR_KINDS`), so that an app above this one (the eCRF's form answers) adds
its kind without this app importing it."""

from datetime import date
from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from sites.models import Site, SiteStatus
from trial.config import config_of
from trial.models import Family, Trial
from trial.schema import Factor


class FactorKind(Protocol):
    def level(self, factor: Factor, family: Family, on: date) -> str | None:
        """The family's level on `on`; None when it is not recorded (or not a level)."""

    def levels(self, factor: Factor, trial: Trial, *, site: Site | None = None) -> dict[str, str]:
        """Every level (code: label) in stratum order; with a site, those it can take there."""

    def frequencies(self, factor: Factor, trial: Trial) -> dict[str, float] | None:
        """The levels' expected frequencies, where the kind knows them better than the
        definition's `expected_frequencies` can (None: take the definition's)."""

    def missing(self, factor: Factor, family: Family) -> str:
        """What a coordinator is told when the family's level is not recorded."""

    def put_right(self, factor: Factor) -> str:
        """Where a missing level is put right: baseline, screening, site or family."""


class _Kind:
    def frequencies(self, factor: Factor, trial: Trial) -> dict[str, float] | None:
        return None

    def missing(self, factor: Factor, family: Family) -> str:
        return f"{factor.label} is not recorded for this family."


def _recruiting(trial: Trial):
    return Site.objects.filter(trial=trial).exclude(
        status__in=[SiteStatus.CLOSED, SiteStatus.CLOSED_TO_RECRUITMENT]
    )


class SiteFactor(_Kind):
    """The family's site. Levels: the trial's sites that may still recruit."""

    def level(self, factor: Factor, family: Family, on: date) -> str | None:
        return family.site.code

    def levels(self, factor: Factor, trial: Trial, *, site: Site | None = None) -> dict[str, str]:
        return {s.code: s.name for s in ([site] if site else _recruiting(trial))}

    def frequencies(self, factor: Factor, trial: Trial) -> dict[str, float] | None:
        sites = list(_recruiting(trial))
        total = sum(s.recruitment_target for s in sites) or 1
        return {s.code: s.recruitment_target / total for s in sites}

    def put_right(self, factor: Factor) -> str:
        return "site"


# The records a record_field factor reads, from the family.
RECORDS = {"family": lambda family: family, "screening": lambda family: family.screening}


class RecordField(_Kind):
    """A coded field of the family's own record or of its screening record. Levels: the
    definition's code list the factor names."""

    def level(self, factor: Factor, family: Family, on: date) -> str | None:
        record, field = factor.source.split(".")
        value = getattr(RECORDS[record](family), field)
        return value if value in self.levels(factor, family.trial) else None

    def levels(self, factor: Factor, trial: Trial, *, site: Site | None = None) -> dict[str, str]:
        return config_of(trial).factor_levels(factor) or {}

    def put_right(self, factor: Factor) -> str:
        # The family's coded fields are checked on its baseline forms; the screening's on
        # the screening record.
        return "screening" if factor.source.startswith("screening.") else "baseline"


class AgeBandAtReferral(_Kind):
    """The band of the child's age on the referral date, derived at screening from the date
    of birth or the due date: a birthday before randomisation does not move the family.
    Levels: the definition's age bands."""

    def level(self, factor: Factor, family: Family, on: date) -> str | None:
        band = family.screening.age_band
        return band if band in self.levels(factor, family.trial) else None

    def levels(self, factor: Factor, trial: Trial, *, site: Site | None = None) -> dict[str, str]:
        return config_of(trial).factor_levels(factor) or {}

    def missing(self, factor: Factor, family: Family) -> str:
        return f"{factor.label} is not known: the screening record has no age band."

    def put_right(self, factor: Factor) -> str:
        return "screening"


@cache
def _kinds() -> dict[str, FactorKind]:
    return {
        kind: import_string(path)() for kind, path in settings.RANDOMISATION_FACTOR_KINDS.items()
    }


def kind_of(factor: Factor) -> FactorKind:
    kind = _kinds().get(factor.kind)
    if kind is None:
        raise ImproperlyConfigured(
            f"Factor {factor.key} is of kind {factor.kind}, which RANDOMISATION_FACTOR_KINDS "
            "does not name."
        )
    return kind


def put_right_at(trial: Trial, key: str | None) -> str | None:
    """Where the level of the trial's factor `key` is put right; None if it is no factor."""
    config = config_of(trial).randomisation
    factor = config.factor(key) if config and key else None
    return kind_of(factor).put_right(factor) if factor else None

"""What must be true before a family is randomised. The list is configuration
(`RANDOMISATION_PRECONDITIONS`), so that apps above this one (the eCRF's "baseline
complete") add theirs without this app importing them."""

from collections.abc import Callable
from datetime import date
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from core.errors import TrialError
from trial.collection import NO_CONSENT, collection_status
from trial.models import Family

Precondition = Callable[[Family, date], None]


def eligible_and_enrolled(family: Family, on: date) -> None:
    if not family.screening.eligible:
        raise TrialError("The family was not eligible at screening.", field="family")


def consented_on_the_current_version(family: Family, on: date) -> None:
    status = collection_status(family, on)
    if status.reconsent_version:
        raise TrialError(
            f"The family must re-consent on version {status.reconsent_version} first.",
            field="consent",
        )
    if NO_CONSENT in status.reasons.values():
        raise TrialError("The family has no consent to take part.", field="consent")


def not_withdrawn(family: Family, on: date) -> None:
    if any(w.withdrawal_date <= on for w in family.withdrawals.all()):
        raise TrialError("The family has withdrawn: it cannot be randomised.", field="family")


def site_active(family: Family, on: date) -> None:
    if not family.site.can_recruit:
        raise TrialError(
            f"{family.site.code} is {family.site.get_status_display().lower()}: "
            "it cannot randomise.",
            field="site",
        )


@cache
def preconditions() -> tuple[Precondition, ...]:
    """The checks, in the order the settings list them."""
    return tuple(import_string(path) for path in settings.RANDOMISATION_PRECONDITIONS)

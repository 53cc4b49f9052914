"""The eCRF's precondition of randomisation (listed in `RANDOMISATION_PRECONDITIONS`)."""

from datetime import date

from core.errors import TrialError
from trial.models import Family

from .selectors import baseline_outstanding


def baseline_complete(family: Family, on: date) -> None:
    """Every baseline form the family's consent allows is complete."""
    missing = baseline_outstanding(family, on)
    if missing:
        raise TrialError(
            f"Baseline is not complete: {', '.join(missing)} still to be completed.",
            field="baseline",
        )

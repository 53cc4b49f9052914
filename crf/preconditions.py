"""The eCRF's preconditions: of randomisation (listed in `RANDOMISATION_PRECONDITIONS`),
and of entering an outcome form (an assessor who learned the family's arm may not)."""

from datetime import date

from core.errors import NotPermitted, TrialError
from core.roles import Role
from trial.deviations import blinded_assessor_needed, learned_arm
from trial.models import Family

from .models import FormDefinition
from .selectors import baseline_outstanding


def baseline_complete(family: Family, on: date) -> None:
    """Every baseline form the family's consent allows is complete."""
    missing = baseline_outstanding(family, on)
    if missing:
        raise TrialError(
            f"Baseline is not complete: {', '.join(missing)} still to be completed.",
            field="baseline",
        )


# An outcome assessor who learned a family's arm enters none of its outcome forms again.
UNBLINDED_REFUSAL = (
    "You learned this family's arm: another blinded assessor must enter its outcome forms."
)


def is_outcome_form(definition: FormDefinition) -> bool:
    """A form an outcome assessor enters: blinded data, so entered by the blinded."""
    return Role.OUTCOME_ASSESSOR in definition.spec.entered_by


def refuse_unblinded_assessor(
    actor, family: Family, definition: FormDefinition, *, learned: bool | None = None
) -> None:
    """Refuse an outcome form to an assessor who learned the family's arm (`learned`, when
    the caller has already asked, saves the query)."""
    if not is_outcome_form(definition):
        return
    if learned is None:
        learned = learned_arm(actor, family)
    if learned:
        raise NotPermitted(UNBLINDED_REFUSAL, field="form")


__all__ = [
    "UNBLINDED_REFUSAL",
    "baseline_complete",
    "blinded_assessor_needed",
    "is_outcome_form",
    "learned_arm",
    "refuse_unblinded_assessor",
]

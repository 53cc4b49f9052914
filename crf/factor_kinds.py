"""The eCRF's kind of stratification factor (named in `RANDOMISATION_FACTOR_KINDS`): a
single-choice answer on a baseline form."""

from datetime import date

from core.errors import TrialError
from sites.models import Site
from trial.models import Family, Trial
from trial.schema import Factor

from .models import FormDefinition, Response
from .selectors import DONE, schedule_of
from .spec import FormField


class BaselineAnswer:
    """The answer on the family's completed baseline response to the form the factor names.
    Levels: the choices of that field in the form's newest version."""

    def level(self, factor: Factor, family: Family, on: date) -> str | None:
        form, key = factor.source.split(".")
        baseline = schedule_of(family.trial).baseline
        response = (
            Response.objects.filter(
                family=family,
                visit=baseline.key if baseline else "",
                form=form,
                status__in=DONE,
            )
            .select_related("definition")
            .first()
        )
        if response is None or response.values.get(key) is None:
            return None
        field = response.spec.field(key)
        value = str(response.values[key])
        return value if field is not None and value in dict(field.choices) else None

    def levels(self, factor: Factor, trial: Trial, *, site: Site | None = None) -> dict[str, str]:
        return dict(self._field(factor, trial).choices)

    def frequencies(self, factor: Factor, trial: Trial) -> dict[str, float] | None:
        return None

    def missing(self, factor: Factor, family: Family) -> str:
        form = factor.source.split(".")[0]
        title = (
            FormDefinition.objects.filter(trial=family.trial_id, form=form)
            .order_by("-version")
            .values_list("title", flat=True)
            .first()
        )
        return (
            f"{factor.label} is not recorded: it is answered on the baseline form {title or form}."
        )

    def put_right(self, factor: Factor) -> str:
        return "baseline"

    def _field(self, factor: Factor, trial: Trial) -> FormField:
        form, key = factor.source.split(".")
        definition = (
            FormDefinition.objects.filter(trial=trial, form=form).order_by("-version").first()
        )
        if definition is None:
            raise TrialError(
                f"{factor.label} is read from the form {form}, which is not loaded yet: "
                "load it with forms_load.",
                field="factors",
            )
        field = definition.spec.field(key)
        if field is None or field.type != "single":
            raise TrialError(
                f"{factor.label} is read from {definition.title}'s field {key}, which must be "
                "a single-choice field.",
                field="factors",
            )
        return field

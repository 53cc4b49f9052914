"""The lock-readiness report: everything that must be done before the trial's data (or one
analysis population's forms) can be locked, each with a link to where it is done. A lock
is refused while it lists anything. Read in a fixed number of queries whatever the size of
the trial."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.urls import reverse

from core.clock import today
from core.errors import TrialError
from crf.models import Query, QueryStatus, Response, ResponseStatus, Signature
from crf.selectors import current_definitions, outstanding_forms
from crf.signatures import signatures_intact
from randomisation.concealment import blinded_sites
from trial.config import config_of
from trial.models import Family, ProtocolDeviation, Trial

from .monitoring import must_verify

KINDS = {
    "open_query": "Open queries",
    "not_verified": "Forms not source-verified where the monitoring plan requires it",
    "not_signed": "Casebooks not signed by the site's principal investigator",
    "not_complete": "Expected forms not complete",
    "safety_open": "Serious adverse events without a final outcome",
    "deviation_open": "Protocol deviations not reviewed",
}


@dataclass(frozen=True)
class Blocker:
    kind: str
    family: str
    site: str
    what: str
    url: str


@dataclass
class Readiness:
    trial: Trial
    population: str
    held_forms: frozenset[str] | None  # None: every form
    blockers: list[Blocker] = field(default_factory=list)
    # Blockers on forms that reveal the arm, at sites where the viewer is blinded: counted,
    # not listed, so that the report shows them no family's arm-revealing forms.
    concealed: int = 0

    @property
    def ready(self) -> bool:
        return not self.blockers and not self.concealed

    @property
    def total(self) -> int:
        return len(self.blockers) + self.concealed

    def by_kind(self) -> list[tuple[str, str, list[Blocker]]]:
        grouped = defaultdict(list)
        for blocker in self.blockers:
            grouped[blocker.kind].append(blocker)
        return [(kind, label, grouped[kind]) for kind, label in KINDS.items() if grouped[kind]]


def _response_url(response: Response) -> str:
    return reverse("crf-response", args=[response.family_id, response.pk])


def _answer_label(response: Response, key: str, answer) -> str:
    """A choice answer by its label in the form's spec."""
    if answer in (None, ""):
        return "not recorded"
    field = response.spec.field(key)
    return dict(field.choices if field else ()).get(str(answer), str(answer)).lower()


def lock_readiness(
    trial: Trial, *, population: str = "", viewer=None, on: date | None = None
) -> Readiness:
    """What blocks a lock of the trial (population "") or of one analysis population. With
    a viewer, blockers on arm-revealing forms at sites where they are blinded are counted
    but not shown."""
    day = on or today()
    config = config_of(trial)
    held: frozenset[str] | None = None
    if population:
        chosen = config.analysis.population(population)
        if chosen is None:
            names = ", ".join(p.key for p in config.analysis.populations) or "none defined"
            raise TrialError(
                f"'{population}' is not an analysis population of {trial.code} ({names}).",
                field="population",
            )
        held = frozenset(chosen.forms)
    report = Readiness(trial=trial, population=population, held_forms=held)
    definitions = current_definitions(trial)
    hidden = set(blinded_sites(viewer).values_list("pk", flat=True)) if viewer else set()

    def add(kind: str, family: Family, form: str, what: str, url: str) -> None:
        if (
            form
            and family.site_id in hidden
            and getattr(definitions.get(form), "reveals_arm", False)
        ):
            report.concealed += 1
        else:
            report.blockers.append(Blocker(kind, family.identifier, family.site.code, what, url))

    def holds(form: str) -> bool:
        return held is None or form in held

    open_queries = (
        Query.objects.filter(family__trial=trial)
        .exclude(status=QueryStatus.CLOSED)
        .select_related("family__site", "response__definition")
        .order_by("family__site__code", "family__identifier", "raised_at", "pk")
    )
    for query in open_queries:
        if holds(query.response.form):
            add(
                "open_query",
                query.family,
                query.response.form,
                f'{query.response.definition.title}: query on "{query.field_label}" is '
                f"{query.get_status_display().lower()}",
                _response_url(query.response),
            )

    responses = list(
        Response.objects.filter(family__trial=trial)
        .select_related("family__site", "definition")
        .order_by("family__site__code", "family__identifier", "visit", "form", "number")
    )
    plan = config.monitoring
    visits = {v.key: v.label for v in config.schedule.visits} if config.schedule else {}
    for response in responses:
        if not holds(response.form) or response.status != ResponseStatus.COMPLETE:
            continue
        if must_verify(
            plan.source_verification,
            trial_code=trial.code,
            site_code=response.family.site.code,
            form=response.form,
            response_id=response.pk,
        ):
            where = visits.get(response.visit, response.visit) or f"any time #{response.number}"
            add(
                "not_verified",
                response.family,
                response.form,
                f"{response.definition.title} ({where}) is not source-verified",
                _response_url(response),
            )

    if plan.safety:
        safety = plan.safety
        for response in responses:
            outcome = response.values.get(safety.outcome_field)
            if (
                response.form == safety.form
                and holds(response.form)
                and outcome not in safety.final_outcomes
            ):
                add(
                    "safety_open",
                    response.family,
                    response.form,
                    f"{response.definition.title} #{response.number}: outcome is "
                    f"{_answer_label(response, safety.outcome_field, outcome)}",
                    _response_url(response),
                )

    families = Family.objects.filter(trial=trial).select_related("site", "trial")
    for due in outstanding_forms(families, on=day):
        if holds(due.form):
            add(
                "not_complete",
                due.family,
                due.form,
                f"{due.title} at {due.visit.label} is not complete",
                # The casebook, which the report's readers can open (they enter no forms).
                reverse("crf-casebook", args=[due.family.pk]) + f"#visit-{due.visit.key}",
            )

    if held is None:  # deviations belong to the family, not to one population's forms
        deviations = (
            ProtocolDeviation.objects.filter(family__trial=trial, reviewed_at__isnull=True)
            .select_related("family__site")
            .order_by("family__site__code", "family__identifier", "occurred_on", "pk")
        )
        for deviation in deviations:
            if (
                deviation.kind in ProtocolDeviation.REVEALS_ARM
                and deviation.family.site_id in hidden
            ):
                report.concealed += 1
                continue
            add(
                "deviation_open",
                deviation.family,
                "",
                f"{deviation.get_kind_display()} ({deviation.severity}) on "
                f"{deviation.occurred_on:%d %b %Y} is not reviewed",
                reverse("family-detail", args=[deviation.family_id]) + "#deviations",
            )

    if plan.signed_before_lock:
        entered = defaultdict(set)
        for response in responses:
            if holds(response.form):
                entered[response.family_id].add(response.pk)
        signatures = list(
            Signature.objects.filter(family__trial=trial, invalidated_at__isnull=True)
        )
        intact = signatures_intact(signatures)
        covered = defaultdict(set)
        for signature in signatures:
            if intact[signature.pk]:
                covered[signature.family_id] |= {entry[0] for entry in signature.content}
        by_id = {r.family_id: r.family for r in responses}
        for family_id in sorted(entered, key=lambda f: (by_id[f].site.code, by_id[f].identifier)):
            if not entered[family_id] <= covered[family_id]:
                family = by_id[family_id]
                add(
                    "not_signed",
                    family,
                    "",
                    f"{len(entered[family_id] - covered[family_id])} form(s) not covered by "
                    "a valid signature",
                    reverse("crf-casebook", args=[family_id]),
                )
    return report

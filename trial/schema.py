"""The schema of a trial definition file: one typed model per section, checked as a whole.
Code reads the loaded trial through these models, never the raw file. Pure Python
(pydantic): no Django import. `docs/schemas/trial-definition.schema.json` is made from it."""

import re
from calendar import monthrange
from datetime import date, timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictStr, model_validator

from core.schema import (
    ARM_CODE_PATTERN,
    TRIAL_CODE_PATTERN,
    At,
    Flag,
    Key,
    Number,
    Schema,
    Text,
    Whole,
    unique_keys,
)

from .eligibility import AgeBand, Criterion, EligibilityRules
from .schedule import Schedule

Labels = Annotated[dict[Key, Text], Field(min_length=1)]
ArmCode = Annotated[StrictStr, Field(pattern=ARM_CODE_PATTERN)]
# The coded fields of the family and screening records a factor may read, each with the
# code list of the definition its values are checked against when they are recorded.
RECORD_FIELDS = {"family.legal_status": "legal_statuses", "screening.referrer_type": "referrers"}
# The dates an age band is derived from: the child's age on the referral date, from the date
# of birth or the expected due date, as screening recorded it.
AGE_SOURCES = ("child_age_at_referral",)
FORM_FIELD_PATTERN = r"^[a-z0-9][a-z0-9_]*\.[a-z0-9][a-z0-9_]*$"


class TrialSection(Schema):
    code: Annotated[
        StrictStr, Field(pattern=TRIAL_CODE_PATTERN, description="2 to 6 capital letters")
    ]
    short_name: Text
    name: Text
    sponsor: Text


class ConsentItem(Schema):
    key: Key
    label: Text
    required: Flag = Field(default=False, description="needed for enrolment")
    gates: Key = Field(default="", description="the data source it allows (data_sources)")


class WithdrawalLevel(Schema):
    key: Key
    label: Text
    stops: Annotated[frozenset[Key], Field(min_length=1, description="data sources it stops")]


class Minimisation(Schema):
    p: Number = Field(default=0.8, ge=0.5, le=1, description="probability of the preferred arm")
    imbalance: Literal["range", "variance"] = "range"
    weights: dict[Key, Number] = {}


class Factor(Schema):
    """A stratification factor: its name, and where a family's level of it is read. Its
    levels can always be listed (so can the strata): a site factor's are the trial's sites,
    a record field's the code list it names, an age band's the definition's age bands, a
    form answer's the choices of that field in the form's spec."""

    key: Key
    label: Text
    kind: Literal["site", "record_field", "age_band", "form_answer"] = Field(
        description="site: the family's site; record_field: a coded field of the family or "
        "screening record; age_band: the band of an age derived from a date; form_answer: a "
        "single-choice answer on a baseline form"
    )
    source: StrictStr = Field(
        default="",
        description="record_field: "
        + ", ".join(RECORD_FIELDS)
        + "; age_band: "
        + ", ".join(AGE_SOURCES)
        + "; form_answer: <baseline form>.<field>; site: none",
    )
    levels: Key | None = Field(
        default=None, description="record_field: the code list of the definition it takes"
    )

    @model_validator(mode="after")
    def _source_fits_kind(self):
        if self.kind == "site" and self.source:
            raise At("source", "a site factor reads the family's site: give no source")
        if self.kind == "record_field":
            if self.source not in RECORD_FIELDS:
                raise At("source", f"must be one of {', '.join(RECORD_FIELDS)}")
            if self.levels != RECORD_FIELDS[self.source]:
                raise At(
                    "levels", f"{self.source} takes its codes from {RECORD_FIELDS[self.source]}"
                )
        elif self.levels is not None:
            raise At("levels", "only a record_field factor names its code list")
        if self.kind == "age_band" and self.source not in AGE_SOURCES:
            raise At("source", f"must be one of {', '.join(AGE_SOURCES)}")
        if self.kind == "form_answer" and not re.fullmatch(FORM_FIELD_PATTERN, self.source):
            raise At("source", "must name a baseline form and its field: <form>.<field>")
        return self


class Randomisation(Schema):
    arms: Annotated[dict[ArmCode, Text], Field(min_length=2, description="code: label")]
    ratio: list[Annotated[Whole, Field(ge=1)]] = Field(min_length=1)
    method: Literal["blocks", "minimisation"]
    block_sizes: list[Annotated[Whole, Field(ge=1)]] = Field(min_length=1)
    factors: list[Factor] = Field(min_length=1, description="the stratification factors")
    expected_frequencies: dict[Key, dict[Key, Number]] = Field(
        default={},
        description="factor key: level: expected proportion, for the design report (a site "
        "factor's levels are weighted by the sites' recruitment targets instead)",
    )
    minimisation: Minimisation = Minimisation()
    lists_for_new_sites: Literal["required", "at_activation"] = Field(
        default="required",
        description="when the site is a factor and randomisation is live, a site activated "
        "later needs a sealed live list for its strata. required: the unblinded statistician "
        "generates and seals it first (the site waits for it); at_activation: its activation "
        "generates and seals it, as long per stratum as the longest live stratum",
    )

    @model_validator(mode="after")
    def _consistent(self):
        if len(self.ratio) != len(self.arms):
            raise At("ratio", "needs one whole number of 1 or more per arm")
        total = sum(self.ratio)
        for i, size in enumerate(self.block_sizes):
            if size % total:
                raise At(f"block_sizes[{i}]", f"must be a multiple of the ratio's sum ({total})")
        unique_keys(self.factors, "factors")
        sites = [i for i, f in enumerate(self.factors) if f.kind == "site"]
        if len(sites) > 1:
            raise At(f"factors[{sites[1]}].kind", "only one factor can be the site")
        keys = set(self.factor_keys)
        for key in self.minimisation.weights:
            if key not in keys:
                raise At(f"minimisation.weights.{key}", "is not the key of one of the factors")
        for key, levels in self.expected_frequencies.items():
            where = f"expected_frequencies.{key}"
            if key not in keys:
                raise At(where, "is not the key of one of the factors")
            if self.factor(key).kind == "site":
                raise At(where, "a site factor is weighted by the sites' recruitment targets")
            if any(v < 0 for v in levels.values()) or abs(sum(levels.values()) - 1) > 1e-6:
                raise At(where, "must be proportions adding up to 1")
        return self

    @property
    def factor_keys(self) -> list[str]:
        return [f.key for f in self.factors]

    def factor(self, key: str) -> Factor | None:
        return next((f for f in self.factors if f.key == key), None)

    @property
    def p(self) -> float:
        return self.minimisation.p

    @property
    def imbalance(self) -> str:
        return self.minimisation.imbalance

    @property
    def weights(self) -> dict[str, float]:
        return self.minimisation.weights


Percent = Annotated[Number, Field(ge=0, le=100)]
SiteCode = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


class SourceVerification(Schema):
    key_forms: list[Key] = Field(default=[], description="forms verified in full (100 %)")
    percent: Percent = Field(
        default=100, description="share of the other forms to verify, at every site"
    )
    per_site: dict[SiteCode, Percent] = Field(
        default={}, description="site code: its own share of the other forms"
    )

    def percent_at(self, site_code: str) -> float:
        return self.per_site.get(site_code, self.percent)


class SafetyFollowUp(Schema):
    form: Key = Field(description="the serious adverse event form")
    outcome_field: Key = Field(description="its field that records the outcome")
    final_outcomes: list[Key] = Field(min_length=1, description="answers that close the event")


class MonitoringPlan(Schema):
    """What must be done before the data can be locked."""

    source_verification: SourceVerification = SourceVerification()
    signed_before_lock: Flag = Field(
        default=True, description="every casebook signed by its site's PI before a lock"
    )
    safety: SafetyFollowUp | None = Field(
        default=None, description="serious adverse events must reach a final outcome"
    )


class Population(Schema):
    key: Key
    label: Text
    forms: list[Key] = Field(min_length=1, description="the forms it locks")


class AnalysisSection(Schema):
    populations: list[Population] = Field(
        default=[], description="parts of the data that can be locked on their own"
    )
    dates: Literal["as_entered", "days_from_randomisation"] = Field(
        default="days_from_randomisation", description="how dates leave the system"
    )

    def population(self, key: str) -> Population | None:
        return next((p for p in self.populations if p.key == key), None)


class RecruitmentPlan(Schema):
    """How many families the trial means to randomise, and over what period."""

    start: date = Field(description="the planned first day of recruitment")
    months: Annotated[Whole, Field(ge=1, le=240)] = Field(description="planned period, months")
    target: Annotated[Whole, Field(ge=1)] = Field(description="families randomised, overall")
    # Each site's own target is the site's record (set when it is registered, audited), so a
    # site that joins later needs no new definition.

    @property
    def end(self) -> date:
        """The last day of the planned period."""
        month = self.start.month - 1 + self.months
        year, month = self.start.year + month // 12, month % 12 + 1
        day = min(self.start.day, monthrange(year, month)[1])
        return date(year, month, day) - timedelta(days=1)


class ReceiptRule(Schema):
    """Who received their allocated intervention: the families of the arm it is given to with
    at least one session on the form's field (any visit); those of the other arms with none."""

    form: Key
    field: Key
    given_to: ArmCode = Field(description="the arm the intervention is given to")


class OutcomeRule(Schema):
    """The primary outcome: the form at the visit whose completion makes a family analysed,
    and the yes/no field that is the outcome."""

    visit: Key
    form: Key
    field: Key


class BaselineRow(Schema):
    """One baseline characteristic of the balance table: a field of a baseline form, or a
    form's score (`<form>.score.<name>`), or a coded field of the family's records."""

    source: StrictStr = Field(
        pattern=r"^([a-z0-9][a-z0-9_]*\.(score\.)?[a-z0-9][a-z0-9_]*|family\.legal_status)$",
        description="<form>.<field>, <form>.score.<score>, or family.legal_status",
    )
    label: Text


class ReportingSection(Schema):
    """What the oversight reports need beyond the rest of the definition."""

    recruitment: RecruitmentPlan | None = None
    receipt: ReceiptRule | None = Field(
        default=None, description="received the allocated intervention (CONSORT)"
    )
    primary_outcome: OutcomeRule | None = Field(
        default=None, description="analysed for the primary outcome (CONSORT)"
    )
    baseline: list[BaselineRow] = Field(default=[], description="rows of the balance table")


# The kinds of protocol deviation the system knows (ProtocolDeviation.Kind); a trial names
# those it logs.
DEVIATION_KINDS = (
    "eligibility",
    "consent",
    "stratification_error",
    "out_of_window",
    "assessor_unblinded",
    "contamination",
    "other",
)
DeviationKind = Literal[DEVIATION_KINDS]


class DeviationsSection(Schema):
    """The protocol deviations the trial logs."""

    kinds: Annotated[list[DeviationKind], Field(min_length=1)] = Field(
        default=list(DEVIATION_KINDS), description="the kinds that may be recorded"
    )


class BlindingSection(Schema):
    """Where an outcome assessor says they learned a family's arm: a yes/no field of a form
    they enter at follow-ups. Yes records an 'assessor unblinded' deviation naming them."""

    form: Key
    field: Key


class TrialDefinition(Schema):
    """A whole definition. Only `trial` is required to load a file; a trial runs once the
    sections it uses are there (`missing_for_running`)."""

    trial: TrialSection
    referrers: Labels | None = None
    eligibility: EligibilityRules | None = None
    decline_reasons: Labels | None = None
    other_reasons: Labels | None = None
    legal_statuses: Labels | None = None
    age_bands: Annotated[list[AgeBand], Field(min_length=1)] | None = None
    data_sources: Labels | None = None
    consent_items: Annotated[list[ConsentItem], Field(min_length=1)] | None = None
    withdrawal_levels: Annotated[list[WithdrawalLevel], Field(min_length=1)] | None = None
    randomisation: Randomisation | None = None
    schedule: Schedule | None = None
    monitoring: MonitoringPlan = MonitoringPlan()
    analysis: AnalysisSection = AnalysisSection()
    reporting: ReportingSection = ReportingSection()
    deviations: DeviationsSection = DeviationsSection()
    blinding: BlindingSection | None = None

    @model_validator(mode="after")
    def _cross_references(self):
        sources = set(self.data_sources or {})
        for name in ("age_bands", "consent_items", "withdrawal_levels"):
            unique_keys(getattr(self, name) or [], name)
        if self.eligibility:
            unique_keys(self.eligibility.criteria, "eligibility.criteria")
        for i, item in enumerate(self.consent_items or []):
            if item.gates and item.gates not in sources:
                raise At(f"consent_items[{i}].gates", f"'{item.gates}' is not one of data_sources")
        if self.consent_items and not any(item.required for item in self.consent_items):
            raise At("consent_items", "at least one item must be required for enrolment")
        for i, level in enumerate(self.withdrawal_levels or []):
            for source in sorted(level.stops - sources):
                raise At(f"withdrawal_levels[{i}].stops", f"'{source}' is not one of data_sources")
        unique_keys(self.analysis.populations, "analysis.populations")
        if len(set(self.deviations.kinds)) != len(self.deviations.kinds):
            raise At("deviations.kinds", "a kind is named twice")
        if self.blinding and "assessor_unblinded" not in self.deviations.kinds:
            raise At("blinding", "needs the kind assessor_unblinded in deviations.kinds")
        if self.schedule:
            forms = self.schedule.form_keys()
            plan = self.monitoring
            named = [
                (f"monitoring.source_verification.key_forms[{i}]", form)
                for i, form in enumerate(plan.source_verification.key_forms)
            ]
            if plan.safety:
                named.append(("monitoring.safety.form", plan.safety.form))
            if self.blinding:
                named.append(("blinding.form", self.blinding.form))
            named += [
                (f"analysis.populations[{i}].forms[{j}]", form)
                for i, population in enumerate(self.analysis.populations)
                for j, form in enumerate(population.forms)
            ]
            for where, form in named:
                if form not in forms:
                    raise At(where, f"'{form}' is not a form of the schedule")
        if self.randomisation:
            self._factors_resolve(self.randomisation)
        self._reporting_resolves()
        return self

    def _reporting_resolves(self) -> None:
        """The reports' rules name forms, visits and arms the definition has."""
        reporting = self.reporting
        forms = self.schedule.form_keys() if self.schedule else set()
        arms = set(self.randomisation.arms) if self.randomisation else set()
        if reporting.receipt:
            if reporting.receipt.form not in forms:
                raise At(
                    "reporting.receipt.form",
                    f"'{reporting.receipt.form}' is not a form of the schedule",
                )
            if reporting.receipt.given_to not in arms:
                raise At(
                    "reporting.receipt.given_to", f"'{reporting.receipt.given_to}' is not an arm"
                )
        if reporting.primary_outcome:
            rule = reporting.primary_outcome
            visit = self.schedule.visit(rule.visit) if self.schedule else None
            if visit is None:
                raise At("reporting.primary_outcome.visit", f"'{rule.visit}' is not a visit")
            if rule.form not in visit.forms:
                raise At(
                    "reporting.primary_outcome.form",
                    f"'{rule.form}' is not a form of the {rule.visit} visit",
                )
        first = self.schedule.baseline if self.schedule else None
        baseline = set(first.forms) if first else set()
        for i, row in enumerate(reporting.baseline):
            form = row.source.split(".")[0]
            if form != "family" and form not in baseline:
                raise At(
                    f"reporting.baseline[{i}].source",
                    f"'{form}' is not a form of the baseline visit",
                )

    def _factors_resolve(self, randomisation: Randomisation) -> None:
        """Each factor's levels are found where it says, and the expected frequencies give
        every level the definition lists."""
        baseline = self.schedule.baseline if self.schedule else None
        for i, factor in enumerate(randomisation.factors):
            where = f"randomisation.factors[{i}]"
            if factor.kind == "record_field" and getattr(self, factor.levels or "") is None:
                raise At(f"{where}.levels", f"the definition has no {factor.levels} section")
            if factor.kind == "age_band" and not self.age_bands:
                raise At(f"{where}.kind", "the definition has no age_bands section")
            if factor.kind == "form_answer":
                form = factor.source.split(".")[0]
                if baseline is None or form not in baseline.forms:
                    raise At(f"{where}.source", f"'{form}' is not a form of the baseline visit")
            known = self.factor_levels(factor)
            levels = randomisation.expected_frequencies.get(factor.key)
            if known is not None and levels is not None and set(levels) != set(known):
                raise At(
                    f"randomisation.expected_frequencies.{factor.key}",
                    f"must give every level: {', '.join(sorted(known))}",
                )

    def factor_levels(self, factor: Factor) -> dict[str, str] | None:
        """The levels (code: label) of a factor the definition itself lists; None for those
        listed elsewhere (a site factor's by the trial's sites, a form answer's by its form)."""
        if factor.kind == "record_field":
            return dict(getattr(self, factor.levels or "") or {})
        if factor.kind == "age_band":
            return {b.key: b.label for b in self.age_bands or []}
        return None

    # What the running system reads; missing ones are named when the trial is used.
    RUNNING: ClassVar[tuple[str, ...]] = (
        "referrers",
        "eligibility",
        "decline_reasons",
        "other_reasons",
        "legal_statuses",
        "age_bands",
        "data_sources",
        "consent_items",
        "withdrawal_levels",
    )

    def missing_for_running(self) -> list[str]:
        return [name for name in self.RUNNING if getattr(self, name) is None]

    def consent_item(self, key: str) -> ConsentItem | None:
        return next((i for i in self.consent_items or [] if i.key == key), None)

    def withdrawal_level(self, key: str) -> WithdrawalLevel | None:
        return next((w for w in self.withdrawal_levels or [] if w.key == key), None)


__all__ = ["AgeBand", "Criterion", "EligibilityRules", "Factor", "TrialDefinition"]

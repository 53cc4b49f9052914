"""Reads of forms, responses, queries and signatures, scoped to what the user may see.
Blinded roles never see a form that reveals the arm, at the sites where they are blinded."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.clock import today
from randomisation.concealment import blinded_sites
from sites.selectors import roles_at
from trial.collection import CollectionStatus, collection_status, collection_statuses
from trial.config import config_of
from trial.models import Family, Trial
from trial.schedule import Schedule, Visit
from trial.selectors import families_visible_to, trials_visible_to, with_records

from .models import (
    FormDefinition,
    NotDone,
    Query,
    QueryStatus,
    Response,
    ResponseStatus,
    Signature,
)
from .signatures import signatures_intact

DONE = (ResponseStatus.COMPLETE, ResponseStatus.VERIFIED)


def schedule_of(trial: Trial) -> Schedule:
    schedule = config_of(trial).schedule
    return schedule if schedule is not None else Schedule(visits=())


def current_definitions(trial: Trial) -> dict[str, FormDefinition]:
    """The newest version of each form: new responses are entered on it."""
    latest: dict[str, FormDefinition] = {}
    for definition in FormDefinition.objects.filter(trial=trial).order_by("form", "version"):
        latest[definition.form] = definition
    return latest


def versions_of(trial: Trial, form: str) -> QuerySet[FormDefinition]:
    """One form's versions, the newest (the current one) first."""
    return FormDefinition.objects.filter(trial=trial, form=form).order_by("-version")


def current_definition(trial: Trial, form: str) -> FormDefinition | None:
    """The newest version of one form (None when the trial has no such form)."""
    return versions_of(trial, form).first()


def scheduled_forms_without_definition(trial: Trial) -> list[str]:
    loaded = set(FormDefinition.objects.filter(trial=trial).values_list("form", flat=True))
    return sorted(schedule_of(trial).form_keys() - loaded)


def definitions_visible_to(user) -> QuerySet[FormDefinition]:

    return FormDefinition.objects.filter(trial__in=trials_visible_to(user))


def hides_arm_forms(user, site) -> bool:
    """Whether forms that reveal the arm are hidden from this user at this site."""
    return blinded_sites(user).filter(pk=site.pk).exists()


def responses_visible_to(user) -> QuerySet[Response]:
    return (
        Response.objects.filter(family__in=families_visible_to(user))
        .exclude(definition__reveals_arm=True, family__site__in=blinded_sites(user))
        .select_related("definition", "family__site")
    )


def queries_visible_to(user) -> QuerySet[Query]:
    """The queries on responses_visible_to(user), by the query's own family (always its
    response's): filtering on "response in the visible responses" has PostgreSQL read every
    response of the installation to find a site's few queries."""
    return (
        Query.objects.filter(family__in=families_visible_to(user))
        .exclude(response__definition__reveals_arm=True, family__site__in=blinded_sites(user))
        .select_related("response", "family", "site")
    )


def randomised_on(family: Family) -> date | None:
    """The date of the family's allocation in the trial's current mode (prefetch
    `allocations` to make this free)."""
    mode = family.trial.randomisation_mode
    allocation = next((a for a in family.allocations.all() if a.mode == mode), None)
    return timezone.localdate(allocation.randomised_at) if allocation else None


# Who enters a form, as a page says it: "the blinded outcome assessor enters this form".
ENTERERS = {
    "site_coordinator": "the site coordinator",
    "outcome_assessor": "the blinded outcome assessor",
    "principal_investigator": "the principal investigator",
}


def who_enters(definition: FormDefinition) -> str:
    return " or ".join(ENTERERS[r] for r in definition.spec.entered_by)


STATE_LABELS = {
    "draft": "Draft",
    "complete": "Complete",
    "verified": "Verified",
    "not_done": "Not done",
    "not_collected": "Not collected",
    "overdue": "Overdue",
    "due": "Due",
    "not_started": "Not started",
}


@dataclass
class Cell:
    """One form at one visit of a family's casebook."""

    visit: Visit | None
    form: str
    title: str
    response: Response | None = None
    open_queries: int = 0
    allowed: bool = True
    why_not: str = ""
    hidden: bool = False
    due: bool = False
    overdue: bool = False
    in_window: bool | None = None
    not_done: NotDone | None = None
    enters: bool = True  # whether the viewer's role enters this form
    entered_by: str = ""  # who does, in words

    @property
    def state(self) -> str:
        if self.response is not None:
            return self.response.status
        if self.not_done is not None:
            return "not_done"
        if not self.allowed:
            return "not_collected"
        return "overdue" if self.overdue else ("due" if self.due else "not_started")

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass
class VisitRow:
    visit: Visit
    window: tuple[date, date, date] | None
    cells: list[Cell] = field(default_factory=list)
    flag: str = ""


@dataclass
class Casebook:
    family: Family
    randomised_on: date | None
    rows: list[VisitRow]
    any_time: list[Cell]
    any_time_forms: list[tuple[str, str]]
    collection: CollectionStatus
    signatures: list
    open_queries: int


def _gate(spec_sources: tuple[str, ...], status: CollectionStatus) -> str:
    for source in spec_sources:
        if not status.may(source):
            return status.reasons.get(source, f"{source} may not be collected")
    return ""


CONCEALED_CHANGE = "arm concealed: a form hidden from blinded roles was changed"


def signatures_of(family: Family, *, hidden: bool, newest_first: bool = True) -> list[Signature]:
    """The family's casebook signatures, each with `intact` (still valid). Where forms that
    reveal the arm are hidden from the viewer, an invalidation by such a form says so without
    naming it or its reason."""
    found = list(
        family.signatures.select_related("signer").order_by(
            "-signed_at" if newest_first else "signed_at"
        )
    )
    intact = signatures_intact(found)
    for signature in found:
        signature.intact = intact[signature.pk]
    if hidden:
        for signature in found:
            if signature.invalidation_reveals_arm:
                signature.invalidated_reason = CONCEALED_CHANGE
    return found


def casebook(family: Family, viewer, *, on: date | None = None) -> Casebook:
    """Every visit and form of the family with status, window and open queries, in a fixed
    number of queries whatever the number of forms."""
    day = on or today()
    schedule = schedule_of(family.trial)
    definitions = current_definitions(family.trial)
    hidden = hides_arm_forms(viewer, family.site)
    viewer_roles = roles_at(viewer, family.site)

    def enters(definition: FormDefinition | None) -> bool:
        return definition is not None and bool(viewer_roles & set(definition.spec.entered_by))

    responses = list(
        Response.objects.filter(family=family).select_related("definition").order_by("pk")
    )
    counts = dict(
        Query.objects.filter(family=family, status=QueryStatus.OPEN)
        .values_list("response_id")
        .annotate(n=Count("id"))
    )
    when = randomised_on(family)
    status = collection_status(family, day)
    by_slot = {(r.visit, r.form): r for r in responses if r.visit}
    not_done = {(n.visit, n.form): n for n in NotDone.objects.filter(family=family)}
    rows = []
    for visit in schedule.visits:
        window = visit.window(when) if when else None
        row = VisitRow(visit=visit, window=window)
        for form in visit.forms:
            definition = definitions.get(form)
            response = by_slot.get((visit.key, form))
            cell = Cell(visit=visit, form=form, title=definition.title if definition else form)
            cell.hidden = bool(hidden and definition and definition.reveals_arm)
            if cell.hidden:
                row.cells.append(cell)
                continue
            cell.response = response
            cell.not_done = not_done.get((visit.key, form))
            cell.open_queries = counts.get(response.pk, 0) if response else 0
            why = _gate(definition.spec.sources, status) if definition else "form not loaded"
            cell.allowed, cell.why_not = not why, why
            cell.enters = enters(definition)
            cell.entered_by = who_enters(definition) if definition else ""
            if response is not None and response.dated_on:
                cell.in_window = visit.in_window(response.dated_on, when)
            done = (response is not None and response.status in DONE) or cell.not_done is not None
            if not done and cell.allowed:
                if visit.before_randomisation:
                    cell.due = when is None
                elif window:
                    cell.due = window[0] <= day
                    cell.overdue = day > window[2]
            row.cells.append(cell)
        if visit.before_randomisation and when and visit.randomise_within:
            dates = [c.response.dated_on for c in row.cells if c.response and c.response.dated_on]
            if dates and (when - max(dates)).days > visit.randomise_within:
                gap = (when - max(dates)).days
                row.flag = (
                    f"randomised {gap} days after the last {visit.label.lower()} form "
                    f"(at most {visit.randomise_within})"
                )
        rows.append(row)
    any_time = []
    for response in responses:
        if response.visit or (hidden and response.definition.reveals_arm):
            continue
        any_time.append(
            Cell(
                visit=None,
                form=response.form,
                title=response.definition.title,
                response=response,
                open_queries=counts.get(response.pk, 0),
            )
        )
    any_time_forms = [
        (key, definitions[key].title)
        for key in schedule.any_time
        if key in definitions
        and not (hidden and definitions[key].reveals_arm)
        and enters(definitions[key])
    ]
    signatures = signatures_of(family, hidden=hidden)
    # A valid signature covers the forms it signed; forms completed since are not covered
    # (counted among the forms this viewer may see).
    finished = [
        r for r in responses if r.status in DONE and not (hidden and r.definition.reveals_arm)
    ]
    for signature in signatures:
        signed = {(pk, revision) for pk, revision in signature.content}
        signature.not_covered = sum((r.pk, r.revision) not in signed for r in finished)
    return Casebook(
        family=family,
        randomised_on=when,
        rows=rows,
        any_time=any_time,
        any_time_forms=any_time_forms,
        collection=status,
        signatures=signatures,
        open_queries=sum(c.open_queries for r in rows for c in r.cells)
        + sum(c.open_queries for c in any_time),
    )


@dataclass(frozen=True)
class Outstanding:
    family: Family
    visit: Visit
    form: str
    title: str
    latest: date | None
    overdue: bool
    reveals_arm: bool = False


def _visit_plan(trial: Trial) -> list[tuple[Visit, list[FormDefinition]]]:
    """Each visit of the schedule with the current definitions of its forms, in order; a
    form nobody has loaded is left out (it cannot be entered)."""
    definitions = current_definitions(trial)
    return [
        (visit, [definitions[form] for form in visit.forms if form in definitions])
        for visit in schedule_of(trial).visits
    ]


def outstanding_forms(
    families: QuerySet[Family], *, on: date | None = None, viewer=None
) -> list[Outstanding]:
    """Forms due or overdue for these families, today: baseline forms of families not yet
    randomised, and follow-up forms whose window has opened and that are not complete.
    With a viewer, forms that would reveal the arm to them are left out."""
    day = on or today()
    hidden_sites = set(blinded_sites(viewer).values_list("pk", flat=True)) if viewer else set()
    found: list[Outstanding] = []
    # The families first, then what is done by their ids: a list of ids is an index look-up
    # each, where the families' query as a subquery has the database read every response.
    families = with_records(
        families.select_related(None).select_related("site"),
        "allocations",
        "consents",
        "withdrawals",
    )
    ids = [f.pk for f in families]
    # What each family has done, as a set of (visit, form): a form complete or marked not
    # done is no longer expected. Unordered: the responses' default order joins their family
    # and site to sort ten thousand rows at a site of 200 families, four fifths of the read.
    done: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for rows in (
        Response.objects.filter(family_id__in=ids, status__in=DONE),
        NotDone.objects.filter(family_id__in=ids),
    ):
        for family_id, visit, form in rows.order_by().values_list("family_id", "visit", "form"):
            done[family_id].add((visit, form))
    plans: dict[int, list[tuple[Visit, list[FormDefinition]]]] = {}
    statuses = collection_statuses(families, day)
    for family in families:
        status = statuses[family.pk]
        if not status.anything:
            continue
        if family.trial_id not in plans:
            plans[family.trial_id] = _visit_plan(family.trial)
        when = randomised_on(family)
        done_here = done.get(family.pk, set())
        hidden = family.site_id in hidden_sites
        # Whether the family's consent and withdrawals stop a form's sources, worked out
        # once per family for each set of sources (forms share a handful).
        stopped: dict[tuple[str, ...], bool] = {}
        for visit, definitions in plans[family.trial_id]:
            if visit.before_randomisation:
                if when is not None:
                    continue
                latest, overdue = None, False
            else:
                if when is None:
                    continue
                earliest, _, latest = visit.window(when)
                if day < earliest:
                    continue
                overdue = day > latest
            for definition in definitions:
                if (visit.key, definition.form) in done_here:
                    continue
                if definition.reveals_arm and hidden:
                    continue
                sources = tuple(definition.spec.sources)
                if sources not in stopped:
                    stopped[sources] = bool(_gate(sources, status))
                if stopped[sources]:
                    continue
                found.append(
                    Outstanding(
                        family,
                        visit,
                        definition.form,
                        definition.title,
                        latest,
                        overdue,
                        definition.reveals_arm,
                    )
                )
    return found


AGE_BANDS = (
    (7, "up to 7 days"),
    (14, "8 to 14 days"),
    (30, "15 to 30 days"),
    (None, "over 30 days"),
)


def open_queries_by_site_and_age(user, *, on: date | None = None) -> dict[str, dict[str, int]]:
    """{site code: {age band: count}} of open and answered (not yet closed) queries."""
    day = on or today()
    counts: dict[str, dict[str, int]] = {}
    # Counted by site and day raised (the local day, as timezone.localdate gives it) in the
    # database: thousands of open queries become a row a site and day.
    rows = (
        queries_visible_to(user)
        .filter(~Q(status=QueryStatus.CLOSED))
        .annotate(raised_on=TruncDate("raised_at"))
        .values_list("site__code", "raised_on")
        .annotate(n=Count("id"))
        .order_by()
    )
    for code, raised_on, n in rows:
        age = (day - raised_on).days
        label = next(lbl for limit, lbl in AGE_BANDS if limit is None or age <= limit)
        bucket = counts.setdefault(code, dict.fromkeys((b for _, b in AGE_BANDS), 0))
        bucket[label] += n
    return dict(sorted(counts.items()))


def baseline_outstanding(family: Family, on: date | None = None) -> list[str]:
    """Titles of the loaded baseline forms not yet complete, among those the family's consent
    and withdrawal allow (a family without video consent has no CARE-Index to complete).
    A form the schedule names but nobody has loaded cannot be entered, so it is not asked
    for here; forms_load and the casebook name it."""
    baseline = schedule_of(family.trial).baseline
    if baseline is None:
        return []
    status = collection_status(family, on or today())
    # The baseline forms' newest definitions, each with whether the family completed it, in
    # one read.
    entered = Response.objects.filter(
        family=family, visit=baseline.key, form=OuterRef("form"), status__in=DONE
    )
    definitions: dict[str, FormDefinition] = {}
    for definition in (
        FormDefinition.objects.filter(trial_id=family.trial_id, form__in=baseline.forms)
        .annotate(done=Exists(entered))
        .order_by("form", "version")
    ):
        definitions[definition.form] = definition
    outstanding = []
    for form in baseline.forms:
        definition = definitions.get(form)
        if (
            definition is not None
            and not definition.done
            and not _gate(definition.spec.sources, status)
        ):
            outstanding.append(definition.title)
    return outstanding

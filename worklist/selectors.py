"""What waits for whom. Every list reads the same scoped querysets as the pages it links to,
so an item is never one the person cannot open; a form the person cannot enter says who
enters it instead of linking to a refusal."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone

from core.clock import today
from core.errors import TrialError
from core.roles import Role
from crf.models import FormDefinition, Query, QueryStatus, ResponseStatus, Signature
from crf.preconditions import is_outcome_form
from crf.selectors import (
    Outstanding,
    current_definitions,
    outstanding_forms,
    queries_visible_to,
    randomised_on,
    responses_visible_to,
    schedule_of,
    who_enters,
)
from crf.signatures import signatures_intact
from dataset.models import Export
from dataset.monitoring import must_verify
from dataset.readiness import lock_readiness
from dataset.selectors import READINESS_READERS, exports_visible_to
from lock.models import DataLock
from randomisation.activation import sites_waiting_for_lists
from randomisation.preconditions import preconditions
from randomisation.services import lists_per_site
from review.selectors import awaiting_review, events_visible_to
from safety.models import SafetyStatus
from safety.selectors import safety_events_visible_to, steps_of
from sites.models import Site
from sites.selectors import open_memberships, sites_where
from trial.collection import families_needing_reconsent
from trial.config import config_of
from trial.models import Family, ProtocolDeviation, ScreeningRecord
from trial.models.screening import ScreeningOutcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    title: str
    url: str
    family: str = ""
    site: str = ""
    since: date | None = None  # what the list is ordered by, oldest first
    note: str = ""
    overdue: bool = False


# The home page shows the oldest items of each section; the rest are a click away, on the
# section's own page, a page at a time (at a site of 200 families a coordinator has over a
# thousand forms due: the home page would otherwise grow with the site).
ON_HOME = 20


SortKey = tuple[date, str, str, str]


def _key(item: Item) -> SortKey:
    return (item.since or date.max, item.site, item.family, item.title)


class Items(Sequence[Item]):
    """A section's items, each made when first read. A coordinator at a site of 200
    families has over a thousand forms due: they are all counted and sorted, but only the
    20 on the home page or the 50 of a page are written out (a link, a note)."""

    def __init__(self) -> None:
        self._rows: list[tuple[SortKey, Callable[[], Item]]] = []
        self._made: dict[int, Item] = {}

    def append(self, item: Item) -> None:
        self._rows.append((_key(item), lambda: item))

    def defer(self, key: SortKey, make: Callable[[], Item]) -> None:
        """An item known by its place in the list (its since, site, family and title, as
        the item made will have them) and made only if read."""
        self._rows.append((key, make))

    def sort(self) -> None:
        self._rows.sort(key=lambda row: row[0])
        self._made.clear()

    def _item(self, index: int) -> Item:
        if index not in self._made:
            self._made[index] = self._rows[index][1]()
        return self._made[index]

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self._rows)))]
        return self._item(range(len(self._rows))[index])

    def __add__(self, other) -> list[Item]:
        return [*self, *other]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # a list's equality, a list's unhashability


@dataclass
class Section:
    key: str
    label: str
    role: str
    items: Items = field(default_factory=Items)

    @property
    def first(self) -> list[Item]:
        return self.items[:ON_HOME]

    @property
    def more(self) -> int:
        return max(len(self.items) - ON_HOME, 0)

    def sorted(self) -> "Section":
        self.items.sort()
        return self


def _sites(user, role: str) -> list[int]:
    """The ids of the sites where the person holds the role, read once: as a subquery (an
    OR of two membership subqueries) PostgreSQL cannot use it to look up a site's rows, and
    reads the rows of every site."""
    return list(sites_where(user, roles={role}).values_list("pk", flat=True))


def _families(sites: list[int]):
    return Family.objects.filter(site__in=sites).select_related("site", "trial")


def _coordinator(user, day: date) -> list[Section]:
    role = Role.SITE_COORDINATOR
    sites = _sites(user, role)
    families = _families(sites)
    to_consent = Section("to_consent", "Families to consent and enrol", role)
    for s in ScreeningRecord.objects.filter(
        site__in=sites, outcome=ScreeningOutcome.ELIGIBLE
    ).select_related("site"):
        to_consent.items.append(
            Item(
                "Eligible and approached: record the consent",
                reverse("screening-enrol", args=[s.pk]),
                s.identifier,
                s.site.code,
                s.outcome_date or s.referral_date,
            )
        )
    due = _forms_due(user, families, role, day)
    waiting_baseline = {o.family.pk for o in due.items_all if o.visit.before_randomisation}
    to_randomise = Section("to_randomise", "Families to randomise", role)
    for family in families.filter(allocations__isnull=True).prefetch_related("allocations"):
        if family.pk in waiting_baseline or randomised_on(family) is not None:
            continue
        if not _may_randomise(family, day):
            continue  # withdrawn, site not active, consent due again: listed where it is
        to_randomise.items.append(
            Item(
                "Baseline complete: randomise",
                reverse("family-randomise", args=[family.pk]),
                family.identifier,
                family.site.code,
                family.enrolled_on,
            )
        )
    queries = Section("queries_to_answer", "Queries to answer", role)
    # Read through the concealment the pages apply: no query on a form that reveals the arm
    # where the person is blinded (another of their roles may be).
    for q in (
        queries_visible_to(user)
        .filter(site__in=sites, status=QueryStatus.OPEN)
        .select_related("response__definition", "family__trial", "site")
    ):
        queries.items.append(_query_item(q, "Answer the query on"))
    reconsent = Section("reconsent_due", "Families to consent again (new version)", role)
    for family, version in families_needing_reconsent(families, on=day):
        reconsent.items.append(
            Item(
                f"Consent again to version {version.version}",
                reverse("family-detail", args=[family.pk]),
                family.identifier,
                family.site.code,
                version.created_at.date(),
            )
        )
    return [to_consent, to_randomise, due.section, queries, reconsent]


def _may_randomise(family: Family, day: date) -> bool:
    for check in preconditions():
        try:
            check(family, day)
        except TrialError:
            return False
    return True


def _visit_label(trial, key: str, number: int) -> str:
    if not key:
        return f"#{number}"
    visit = schedule_of(trial).visit(key)
    return visit.label if visit else key


@dataclass
class _Due:
    section: Section
    items_all: list


def _forms_due(user, families, role: str, day: date) -> _Due:
    """Forms due and overdue at the person's sites. Those their role does not enter are
    listed with who does, and no link to a refusal."""
    label = "Assessments due" if role == Role.OUTCOME_ASSESSOR else "Forms due and overdue"
    section = Section("forms_due", label, role)
    found = outstanding_forms(families, on=day, viewer=user)
    definitions: dict[int, dict] = {}
    # Families whose arm this person learned: their outcome forms are another assessor's.
    learned = set(
        ProtocolDeviation.objects.filter(
            kind=ProtocolDeviation.Kind.ASSESSOR_UNBLINDED, person=user
        ).values_list("family_id", flat=True)
    )
    for o in found:
        if o.family.trial_id not in definitions:
            definitions[o.family.trial_id] = current_definitions(o.family.trial)
        definition = definitions[o.family.trial_id][o.form]
        mine = role in definition.spec.entered_by
        if mine and o.family.pk in learned and is_outcome_form(definition):
            mine = False
        if role == Role.OUTCOME_ASSESSOR and not mine:
            continue
        title = f"{o.title}, {o.visit.label}"
        since = o.latest or o.family.enrolled_on
        key = (since, o.family.site.code, o.family.identifier, title)
        section.items.defer(key, partial(_due_item, o, definition, title, since, mine))
    return _Due(section, found)


def _due_item(
    o: Outstanding, definition: FormDefinition, title: str, since: date, mine: bool
) -> Item:
    when = (
        f"overdue since {o.latest:%-d %b %Y}"
        if o.overdue
        else (f"due by {o.latest:%-d %b %Y}" if o.latest else "due before randomisation")
    )
    return Item(
        title,
        reverse("crf-entry", args=[o.family.pk, o.visit.key, o.form]) if mine else "",
        o.family.identifier,
        o.family.site.code,
        since,
        when if mine else f"{when}; {who_enters(definition)} enters this form",
        o.overdue,
    )


def _query_item(q: Query, verb: str) -> Item:
    where = _visit_label(q.family.trial, q.response.visit, q.response.number)
    return Item(
        f"{verb} {q.response.definition.title} ({where})",
        reverse("crf-response", args=[q.family_id, q.response_id]),
        q.family.identifier,
        q.site.code,
        q.raised_at.date(),
        q.text[:120],
    )


def _assessor(user, day: date) -> list[Section]:
    role = Role.OUTCOME_ASSESSOR
    return [_forms_due(user, _families(_sites(user, role)), role, day).section]


def _monitor(user, day: date) -> list[Section]:
    role = Role.MONITOR
    sites = list(Site.objects.filter(pk__in=_sites(user, role)).order_by("code"))
    events = Section("events_to_review", "Audit events you have not signed off", role)
    # The same events the review page lists with `to_review`: those none of this monitor's
    # sign-offs at the site covers, no sign-off's own event among them.
    waiting = {
        row["site_id"]: row
        for row in awaiting_review(
            events_visible_to(user).filter(site_id__in=[s.pk for s in sites]), user
        )
        .order_by()
        .values("site_id")
        .annotate(count=Count("seq"), first=Min("at"))
    }
    for site in sites:
        row = waiting.get(site.pk)
        if row and row["count"]:
            count = row["count"]
            query = urlencode({"site": site.pk, "to_review": 1})
            events.items.append(
                Item(
                    f"{count} event{'s' if count != 1 else ''} at {site.code} to review",
                    f"{reverse('audit-review')}?{query}",
                    "",
                    site.code,
                    row["first"].date(),
                )
            )
    sdv = Section("sdv_to_do", "Forms to source-verify (the monitoring plan)", role)
    for r in (
        responses_visible_to(user)
        .filter(family__site__in=sites, status=ResponseStatus.COMPLETE)
        .select_related("family__site", "family__trial", "definition")
        .order_by("updated_at")
    ):
        plan = config_of(r.family.trial).monitoring.source_verification
        if must_verify(
            plan,
            trial_code=r.family.trial.code,
            site_code=r.family.site.code,
            form=r.form,
            response_id=r.pk,
        ):
            sdv.items.append(
                Item(
                    f"Verify {r.definition.title} "
                    f"({_visit_label(r.family.trial, r.visit, r.number)})",
                    reverse("crf-response", args=[r.family_id, r.pk]),
                    r.family.identifier,
                    r.family.site.code,
                    r.updated_at.date(),
                )
            )
    answered = Section("queries_to_close", "Answered queries to close", role)
    for q in (
        queries_visible_to(user)
        .filter(site__in=sites, status=QueryStatus.ANSWERED)
        .select_related("response__definition", "family__trial", "site")
    ):
        answered.items.append(_query_item(q, "Close or re-open the query on"))
    return [events, sdv, answered]


def _investigator(user, day: date) -> list[Section]:
    role = Role.PRINCIPAL_INVESTIGATOR
    sites = _sites(user, role)
    families = Family.objects.filter(site__in=sites).select_related("site")
    to_sign = Section("casebooks_to_sign", "Casebooks to sign", role)
    invalidated = Section("signatures_invalidated", "Signatures no longer valid", role)
    signatures = list(Signature.objects.filter(family__site__in=sites).order_by())
    ever_invalidated = {s.family_id for s in signatures if not s.valid}
    current = [s for s in signatures if s.valid]
    intact = signatures_intact(current)
    covered: dict[int, set] = {}
    for s in current:
        if intact.get(s.pk):
            covered.setdefault(s.family_id, set()).update(tuple(pair) for pair in s.content)
    # Only forms the PI may see count: a count of arm-revealing forms would tell the arm to
    # a PI who is also blinded. Counted by the database for each family, and read form by
    # form only where a signature covers some (a site of 200 families has ten thousand).
    finished = responses_visible_to(user).filter(
        family__site__in=sites, status__in=(ResponseStatus.COMPLETE, ResponseStatus.VERIFIED)
    )
    newer: dict[int, tuple[int, datetime]] = {
        row["family_id"]: (row["n"], row["latest"])
        for row in finished.exclude(family_id__in=list(covered))
        .order_by()
        .values("family_id")
        .annotate(n=Count("id"), latest=Max("updated_at"))
    }
    signed_forms: dict[int, list[datetime]] = {}
    for family_id, pk, revision, updated_at in (
        finished.filter(family_id__in=list(covered))
        .order_by()
        .values_list("family_id", "pk", "revision", "updated_at")
    ):
        if (pk, revision) not in covered[family_id]:
            signed_forms.setdefault(family_id, []).append(updated_at)
    newer |= {family_id: (len(at), max(at)) for family_id, at in signed_forms.items()}
    for family in families:
        if family.pk not in newer:
            continue
        count, latest_at = newer[family.pk]
        section = to_sign
        note = f"{count} form{'s' if count != 1 else ''} not covered by a signature"
        if family.pk in ever_invalidated and family.pk not in covered:
            section = invalidated
        section.items.append(
            Item(
                "Sign the casebook",
                reverse("crf-sign", args=[family.pk]),
                family.identifier,
                family.site.code,
                latest_at.date(),
                note,
            )
        )
    to_assess = Section("safety_to_assess", "Safety events to assess", role)
    _safety_items(
        to_assess,
        safety_events_visible_to(user).filter(family__site__in=sites, status=SafetyStatus.REPORTED),
        "Assess and sign",
    )
    return [to_sign, invalidated, to_assess]


def _safety_items(section: Section, events, verb: str) -> None:
    """Each event, dated by when the site became aware, marked overdue when a step is."""
    now = timezone.now()
    for event in events.order_by("aware_at"):
        late = [s for s in steps_of(event, now) if s.late and s.open]
        kind = "serious adverse event" if event.kind == "sae" else "safeguarding incident"
        section.items.append(
            Item(
                f"{verb}: {kind}",
                reverse("safety-event", args=[event.pk]),
                event.family.identifier,
                event.family.site.code,
                timezone.localdate(event.aware_at),
                "; ".join(f"overdue: {s.label}" for s in late),
                bool(late),
            )
        )


def _trial_wide(user, day: date) -> list[Section]:
    held = {m.role: m.trial for m in open_memberships(user).filter(site__isnull=True)}
    sections = []
    if Role.CHIEF_INVESTIGATOR in held:
        role = Role.CHIEF_INVESTIGATOR
        events = safety_events_visible_to(user).filter(family__trial=held[Role.CHIEF_INVESTIGATOR])
        to_review = Section("safety_to_review", "Safety events to review", role)
        _safety_items(
            to_review,
            events.filter(reviewed_at__isnull=True).exclude(status=SafetyStatus.REPORTED),
            "Review",
        )
        to_rec = Section("rec_reports_due", "Reports due to the research ethics committee", role)
        _safety_items(
            to_rec,
            events.filter(reportable=True, rec_reported_on__isnull=True),
            "Report to the ethics committee",
        )
        sections += [to_review, to_rec]
    if Role.TRIAL_MANAGER in held:
        trial = held[Role.TRIAL_MANAGER]
        role = Role.TRIAL_MANAGER
        deviations = Section("deviations_to_review", "Protocol deviations to review", role)
        for d in ProtocolDeviation.objects.filter(
            family__trial=trial, reviewed_at__isnull=True
        ).select_related("family__site"):
            deviations.items.append(
                Item(
                    f"Review: {d.get_kind_display()}",
                    reverse("family-detail", args=[d.family_id]),
                    d.family.identifier,
                    d.family.site.code,
                    d.occurred_on,
                )
            )
        sections.append(deviations)
    readers = READINESS_READERS & set(held)
    if readers:
        role = sorted(readers)[0]
        trial = held[role]
        unlocks = Section("unlocks_to_confirm", "Unlocks waiting for you to confirm", role)
        for lock in (
            DataLock.objects.filter(
                trial=trial, unlocked_at__isnull=True, unlock_requested_by__isnull=False
            )
            .exclude(unlock_requested_by=user)
            .select_related("unlock_requested_by")
        ):
            unlocks.items.append(
                Item(
                    f"Confirm the unlock of {lock} asked by {lock.unlock_requested_by.username}",
                    reverse("lock"),
                    since=lock.unlock_requested_at.date(),
                    note=lock.unlock_reason[:120],
                )
            )
        sections.append(unlocks)
        if not DataLock.objects.filter(trial=trial, unlocked_at__isnull=True).exists():
            report = lock_readiness(trial, viewer=user, on=day)
            lock = Section("lock_readiness", "Before the data can be locked", role)
            if not report.ready:
                lock.items.append(
                    Item(
                        f"{report.total} "
                        f"{'things block' if report.total != 1 else 'thing blocks'} the lock",
                        reverse("lock"),
                    )
                )
            sections.append(lock)
    if held.keys() & {Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}:
        failed = Section("exports_failed", "Exports that failed", Role.STATISTICIAN_BLINDED)
        for e in exports_visible_to(user).filter(status=Export.Status.FAILED, requested_by=user):
            failed.items.append(
                Item(
                    f"Export {e.pk} ({e.describe()}) failed",
                    reverse("export", args=[e.pk]),
                    since=e.requested_at.date(),
                    note=e.error[:120],
                )
            )
        sections.append(failed)
    if Role.STATISTICIAN_UNBLINDED in held:
        sections += _site_lists(held[Role.STATISTICIAN_UNBLINDED])
    return sections


def _site_lists(trial) -> list[Section]:
    """Approved sites that cannot be activated until the unblinded statistician seals a live
    list for their strata (where the trial's definition leaves that to them)."""
    if not lists_per_site(trial):
        return []
    if config_of(trial).randomisation.lists_for_new_sites != "required":
        return []
    role = Role.STATISTICIAN_UNBLINDED
    section = Section("site_lists_to_make", "Sites waiting for their randomisation list", role)
    for need in sites_waiting_for_lists(trial):
        site = need.site
        step = (
            "Its live list is generated: check it and seal it"
            if need.unsealed
            else f"Generate a live list for {site.code} (choose the site), check it and seal it"
        )
        section.items.append(
            Item(
                f"{site.code} waits for its randomisation list",
                reverse("statistics"),
                site=site.code,
                since=max(site.ethics_approval_date, site.rnd_approval_date),
                note=f"{step}; the site cannot be activated until then.",
            )
        )
    return [section]


BY_ROLE = {
    Role.SITE_COORDINATOR: _coordinator,
    Role.OUTCOME_ASSESSOR: _assessor,
    Role.MONITOR: _monitor,
    Role.PRINCIPAL_INVESTIGATOR: _investigator,
}


def work_for(user, *, on: date | None = None) -> list[Section]:
    """The person's work, role by role (each role once, whatever its sites), each section
    oldest first. Sections with nothing in them are kept: "nothing waiting" is news too."""
    day = on or today()
    held = set(open_memberships(user).values_list("role", flat=True))
    sections: list[Section] = []
    for role, make in BY_ROLE.items():
        if role in held:
            sections += make(user, day)
    sections += _trial_wide(user, day)
    return [s.sorted() for s in sections]


def section_of(user, role: str, key: str) -> Section | None:
    """One section of the person's own work list, whole; None for a role they do not hold
    or a section their roles do not have."""
    return next((s for s in work_for(user) if (s.role, s.key) == (role, key)), None)


def remember_waiting(user, sections: list[Section]) -> int:
    """Kept for the header of the person's other pages, which show it without working the
    list out again (the home page does that)."""
    count = sum(len(s.items) for s in sections)
    try:
        cache.set(f"waiting:{user.pk}", count, WAITING_KEPT)
    except Exception:  # an unreachable cache loses the header's count, never the page
        logger.warning("Cache unreachable: the work list's count not kept", exc_info=True)
    return count


def remembered_waiting(user) -> int | None:
    try:
        return cache.get(f"waiting:{user.pk}")
    except Exception:  # as above: the header shows no count
        logger.warning("Cache unreachable: the work list's count not read", exc_info=True)
        return None


WAITING_KEPT = 15 * 60  # seconds

"""Who may read which events, and the monitor's filters over them."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent, ReviewSignoff
from core.roles import Role
from randomisation.concealment import Blindness
from sites.models import Site
from sites.selectors import sites_where, trials_managed_by

from .concealment import searchable
from .subjects import described

# Roles that sign off the audit trail as reviewed: the monitor for their sites, the trial
# manager for all.
AUDIT_REVIEWERS = frozenset({Role.MONITOR, Role.TRIAL_MANAGER})
# Roles that read it: the reviewers, and the chief investigator (every site's events, read
# only: the CI oversees the trial, and signs nothing off).
AUDIT_READERS = AUDIT_REVIEWERS | {Role.CHIEF_INVESTIGATOR}


def audit_sites_of(user) -> QuerySet[Site]:
    return sites_where(user, roles=AUDIT_READERS)


def signoff_sites_of(user) -> QuerySet[Site]:
    """The sites whose events the user may sign off as reviewed."""
    return sites_where(user, roles=AUDIT_REVIEWERS)


def events_visible_to(user) -> QuerySet[AuditEvent]:
    """A monitor sees the events of their sites only; the chief investigator every site's
    events; a trial manager every site's events and those that belong to no site (sign-ins,
    accounts, the trial itself)."""
    sites = audit_sites_of(user)
    if trials_managed_by(user).exists():
        return AuditEvent.objects.filter(
            Q(site_id__in=sites.values("pk")) | Q(site_id__isnull=True)
        )
    # The site ids as a list, not a subquery: PostgreSQL then reads only those sites' part of
    # the site index, where a subquery had it scan the whole index (all of a large ledger).
    site_ids = list(sites.values_list("pk", flat=True))
    if not site_ids:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(site_id__in=site_ids)


@dataclass(frozen=True)
class EventFilter:
    site: int | None = None
    family: str = ""
    actor: str = ""
    event_type: str = ""
    object_type: str = ""
    object_id: str = ""
    field: str = ""
    date_from: date | None = None
    date_to: date | None = None
    edits_after_only: bool = False

    @property
    def searches_content(self) -> bool:
        """Whether it matches on what a concealed event withholds."""
        return bool(self.family or self.object_id or self.field)

    def as_dict(self) -> dict:
        return {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in self.__dict__.items()
            if v not in (None, "", False)
        }


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_events(
    events: QuerySet[AuditEvent], f: EventFilter, *, blindness: Blindness
) -> QuerySet[AuditEvent]:
    if f.searches_content:
        events = searchable(events, blindness)
    if f.site is not None:
        events = events.filter(site_id=f.site)
    if f.family:
        events = events.filter(family=f.family)
    if f.actor:
        events = events.filter(actor_username=f.actor)
    if f.event_type:
        events = events.filter(event_type=f.event_type)
    if f.object_type:
        events = events.filter(object_type=f.object_type)
    if f.object_id:
        events = events.filter(object_id=f.object_id)
    if f.field:
        events = events.filter(changes__has_key=f.field)
    # Dates are the trial's calendar days (Europe/London), whole days inclusive.
    if f.date_from:
        events = events.filter(at__gte=_day_start(f.date_from))
    if f.date_to:
        events = events.filter(at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.edits_after_only:
        events = events.exclude(edit_after="")
    return events


def awaiting_review(events: QuerySet[AuditEvent], reviewer) -> QuerySet[AuditEvent]:
    """The site events that wait for this reviewer: in none of their sign-offs at the event's
    site, whatever the order the ranges were signed in. A sign-off's own event records a
    review; it is never one more thing to review. The work list counts these and the review
    page shows them, so the two agree on what waits. Only events at sites the reviewer signs
    off wait: for a reader who signs nothing off (the chief investigator) nothing does."""
    covered = ReviewSignoff.objects.filter(
        reviewer=reviewer,
        site_id=OuterRef("site_id"),
        first_seq__lte=OuterRef("seq"),
        last_seq__gte=OuterRef("seq"),
    )
    return (
        events.filter(site_id__in=signoff_sites_of(reviewer).values("pk"))
        .exclude(event_type=EventType.REVIEW_SIGNOFF)
        .filter(~Exists(covered))
    )


def events_described(events: list[AuditEvent]) -> list[AuditEvent]:
    """The events with how the trail words them (`event.described`: the record by its name,
    the person by theirs, each change by its question), named for the whole list at once.
    Word them after shaping them for the viewer, so that what is withheld is not named."""
    for event, words in zip(events, described(events), strict=True):
        event.described = words
    return events


def keyset_page(
    events: QuerySet[AuditEvent], *, before: int | None, size: int
) -> tuple[list[AuditEvent], int | None]:
    """Newest first, `size` events older than `before`; and where the next page starts.
    The seek (seq < before) uses the index, so page 10,000 costs what page 1 does."""
    if before is not None:
        events = events.filter(seq__lt=before)
    rows = list(events.order_by("-seq")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].seq if more and rows else None)


def signoffs_covering(events: list[AuditEvent]) -> dict[int, list[ReviewSignoff]]:
    """For each event on a page, the sign-offs that reviewed it (one query per page)."""
    sited = [e for e in events if e.site_id]
    if not sited:
        return {}
    low, high = min(e.seq for e in sited), max(e.seq for e in sited)
    signoffs = list(
        ReviewSignoff.objects.filter(
            site_id__in={e.site_id for e in sited},
            first_seq__lte=high,
            last_seq__gte=low,
        ).select_related("reviewer")
    )
    return {
        e.seq: [
            s for s in signoffs if s.site_id == e.site_id and s.first_seq <= e.seq <= s.last_seq
        ]
        for e in sited
    }

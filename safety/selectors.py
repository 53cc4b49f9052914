"""Who sees which safety events, each event's clock, and the listing's filters.

Safety events say how an event relates to the intervention, which can tell a family's arm:
like the safety form itself they are hidden from anyone blinded at the event's site, and a
viewer blinded anywhere they look is refused a listing by relatedness."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import NotPermitted, TrialError
from core.roles import Role
from randomisation.concealment import blinded_sites
from sites.selectors import open_memberships, sites_visible_to

from . import clock
from .models import EmergencyUnblinding, SafetyEvent, SafetyStatus

# Who approves an emergency unblinding (never the person who asked).
APPROVERS = (Role.TRIAL_MANAGER, Role.CHIEF_INVESTIGATOR)
REFUSED_TO_BLINDED = (
    "Safety events record relatedness to the intervention, which can tell a family's arm: "
    "they are not shown to a blinded role."
)


def safety_events_visible_to(user) -> QuerySet[SafetyEvent]:
    """Events at the viewer's sites, except where they are blinded."""
    return (
        SafetyEvent.objects.filter(family__site__in=sites_visible_to(user))
        .exclude(family__site__in=blinded_sites(user))
        .select_related("family__site", "family__trial", "response__definition", "reported_by")
    )


def may_read_safety(user) -> bool:
    """Somewhere to read safety events: a site they see where they are not blinded."""
    return sites_visible_to(user).exclude(pk__in=blinded_sites(user).values("pk")).exists()


def steps_of(event: SafetyEvent, now: datetime) -> list[clock.Due]:
    """The event's clock: the site's report (24 hours from awareness), the PI's assessment
    (the same 24 hours: the site's report is its PI's), and, when the event is related and
    unexpected, the ethics committee report (day 15 from the chief investigator's
    awareness)."""
    report_due = clock.site_report_due(event.aware_at)
    steps = [
        clock.Due(
            "report",
            "the site's report",
            report_due,
            event.reported_at,
            clock.step_late(report_due, event.reported_at, now),
        ),
        clock.Due(
            "assess",
            "the PI's assessment",
            report_due,
            event.assessed_at,
            clock.step_late(report_due, event.assessed_at, timezone.localtime(now)),
        ),
    ]
    if event.reportable and event.rec_due_on:
        steps.append(
            clock.Due(
                "rec",
                "the report to the research ethics committee",
                event.rec_due_on,
                event.rec_reported_on,
                clock.step_late(event.rec_due_on, event.rec_reported_on, timezone.localtime(now)),
            )
        )
    return steps


@dataclass(frozen=True)
class SafetyFilter:
    site: int | None = None
    kind: str = ""
    seriousness: str = ""
    relatedness: str = ""
    status: str = ""
    overdue: bool = False


SERIOUSNESS = ("death", "life_threatening", "hospitalisation", "disability", "other_important")
RELATEDNESS = ("unrelated", "unlikely", "possible", "probable", "definite")
KINDS = ("sae", "safeguarding")


def safety_filter(params, user) -> SafetyFilter:
    """The listing's filters from a query string; a bad one is a 400 naming it, and a
    relatedness filter from a viewer blinded anywhere is refused."""
    site = params.get("site") or None
    if site is not None:
        found = sites_visible_to(user).filter(Q(code=site.upper()) | Q(pk=_int(site)))
        if not found.exists():
            raise TrialError(f"There is no site '{site}' among yours.", field="site")
        site = found.first().pk
    choices = {
        "kind": KINDS,
        "seriousness": SERIOUSNESS,
        "relatedness": RELATEDNESS,
        "status": tuple(SafetyStatus.values),
    }
    values = {}
    for key, allowed in choices.items():
        value = params.get(key) or ""
        if value and value not in allowed:
            raise TrialError(f"Choose {key} from: {', '.join(allowed)}.", field=key)
        values[key] = value
    overdue = params.get("overdue") or ""
    if overdue not in ("", "0", "1", "true", "false", "yes", "no"):
        raise TrialError("overdue is yes or no.", field="overdue")
    if values["relatedness"] and blinded_sites(user).exists():
        raise NotPermitted(REFUSED_TO_BLINDED)
    return SafetyFilter(site=site, overdue=overdue in ("1", "true", "yes"), **values)


def _int(text: str) -> int:
    return int(text) if text.isdigit() else -1


def safety_listing(user, wanted: SafetyFilter, now: datetime | None = None):
    """The events the viewer sees that meet the filter, each with its clock, newest first."""
    now = now or timezone.now()
    found = safety_events_visible_to(user)
    if wanted.site:
        found = found.filter(family__site_id=wanted.site)
    if wanted.kind:
        found = found.filter(kind=wanted.kind)
    if wanted.status:
        found = found.filter(status=wanted.status)
    rows = []
    for event in found.order_by("-aware_at", "-pk"):
        values = event.response.values
        if wanted.seriousness and wanted.seriousness not in (values.get("seriousness") or []):
            continue
        relatedness = event.ci_relatedness or values.get("relatedness")
        if wanted.relatedness and relatedness != wanted.relatedness:
            continue
        steps = steps_of(event, now)
        late = [s for s in steps if s.late]
        overdue = [s for s in late if s.open]
        if wanted.overdue and not overdue:
            continue
        rows.append(ListedEvent(event, steps, late, overdue))
    return rows


@dataclass(frozen=True)
class ListedEvent:
    event: SafetyEvent
    steps: list[clock.Due]
    late: list[clock.Due]
    overdue: list[clock.Due]

    @property
    def values(self) -> dict:
        return self.event.response.values

    def _label(self, key: str, value) -> str:
        field = self.event.response.spec.field(key)
        return dict(field.choices).get(value, value) if field else str(value)

    @property
    def seriousness_shown(self) -> str:
        return ", ".join(
            self._label("seriousness", v) for v in self.values.get("seriousness") or []
        )

    @property
    def relatedness_shown(self) -> str:
        return self._label(
            "relatedness", self.event.ci_relatedness or self.values.get("relatedness")
        )

    @property
    def outcome_shown(self) -> str:
        return self._label("outcome", self.values.get("outcome"))


def counts_of(rows: list[ListedEvent]) -> dict[str, int]:
    """The listing's headline: events, late steps (done late or overdue), overdue now."""
    return {
        "events": len(rows),
        "late_steps": sum(len(r.late) for r in rows),
        "overdue_steps": sum(len(r.overdue) for r in rows),
        "open": sum(1 for r in rows if r.event.status != SafetyStatus.CLOSED),
    }


def unblindings_visible_to(user) -> QuerySet[EmergencyUnblinding]:
    """Requests the viewer made, and, for those who approve them (trial manager, chief
    investigator), every request of their trials."""
    approver_trials = (
        open_memberships(user).filter(role__in=APPROVERS, site__isnull=True).values("trial_id")
    )
    return EmergencyUnblinding.objects.filter(
        Q(requested_by=user) | Q(family__trial_id__in=approver_trials)
    ).select_related("family__site", "requested_by", "decided_by")


def on_date(value: date | None) -> str:
    return f"{value:%d %b %Y}" if value else ""


CSV_HEADER = [
    "event_id",
    "family",
    "site",
    "kind",
    "status",
    "event_date",
    "aware_at",
    "reported_at",
    "seriousness",
    "relatedness_pi",
    "relatedness_ci",
    "expectedness",
    "outcome",
    "safeguarding_referral",
    "referral_to",
    "referral_on",
    "reportable_to_rec",
    "rec_due_on",
    "rec_reported_on",
    "late_steps",
    "overdue_steps",
]


def csv_rows(rows: list[ListedEvent]):
    """One line per event, in the listing's order: codes as stored, times in UTC."""
    for row in rows:
        event, values = row.event, row.values
        yield [
            event.pk,
            event.family.identifier,
            event.family.site.code,
            event.kind,
            event.status,
            values.get("event_date", ""),
            event.aware_at.isoformat(),
            event.reported_at.isoformat(),
            ";".join(values.get("seriousness") or []),
            values.get("relatedness", ""),
            event.ci_relatedness,
            event.ci_expectedness or values.get("expectedness", ""),
            values.get("outcome", ""),
            {True: "yes", False: "no"}.get(values.get("safeguarding_referral"), ""),
            event.referral_to,
            event.referral_on.isoformat() if event.referral_on else "",
            "yes" if event.reportable else "no",
            event.rec_due_on.isoformat() if event.rec_due_on else "",
            event.rec_reported_on.isoformat() if event.rec_reported_on else "",
            ";".join(s.step for s in row.late),
            ";".join(s.step for s in row.overdue),
        ]

"""The deviation log as a list: its filters (the same on the page, the API and the CSV) and
its rows for a download. The records come already scoped and shaped for the viewer
(`dataset.selectors.deviations_visible_to`); this only narrows and lays them out."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import TrialError

from .lookup import family_identifier_typed
from .models import ProtocolDeviation

YES_NO = {"yes": True, "no": False}
FILTERS = ("site", "family", "kind", "severity", "reviewed", "breach", "overdue")


@dataclass(frozen=True)
class DeviationFilter:
    site: str = ""
    family: str = ""
    kind: str = ""
    severity: str = ""
    reviewed: bool | None = None
    breach: bool | None = None
    overdue: bool | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "DeviationFilter":
        """The filters as typed; a wrong value is refused naming its parameter."""
        text = {name: (params.get(name) or "").strip() for name in FILTERS}
        if text["kind"] and text["kind"] not in ProtocolDeviation.Kind.values:
            raise TrialError(
                f"There is no kind of deviation '{text['kind']}'. Choose one of: "
                f"{', '.join(ProtocolDeviation.Kind.values)}.",
                field="kind",
            )
        if text["severity"] and text["severity"] not in ProtocolDeviation.Severity.values:
            raise TrialError("Severity is minor or major.", field="severity")
        flags = {}
        for name in ("reviewed", "breach", "overdue"):
            value = text[name].lower()
            if value and value not in YES_NO:
                raise TrialError(f"Give {name} as yes or no.", field=name)
            flags[name] = YES_NO.get(value)
        return cls(
            site=text["site"].upper(),
            family=family_identifier_typed(text["family"], field="family")
            if text["family"]
            else "",
            kind=text["kind"],
            severity=text["severity"],
            **flags,
        )

    def apply(self, found: QuerySet, *, now: datetime | None = None) -> QuerySet:
        now = now or timezone.now()
        if self.site:
            found = found.filter(family__site__code=self.site)
        if self.family:
            found = found.filter(family__identifier=self.family)
        if self.kind:
            found = found.filter(kind=self.kind)
        if self.severity:
            found = found.filter(severity=self.severity)
        if self.reviewed is not None:
            found = found.filter(reviewed_at__isnull=not self.reviewed)
        if self.breach is not None:
            found = found.filter(possible_serious_breach=self.breach)
        if self.overdue is not None:
            late = Q(
                possible_serious_breach=True,
                breach_reported_on__isnull=True,
                breach_due_at__lt=now,
            )
            found = found.filter(late if self.overdue else ~late)
        return found


CSV_HEADER = (
    "id",
    "family",
    "site",
    "kind",
    "severity",
    "occurred_on",
    "description",
    "corrective_action",
    "preventive_action",
    "source",
    "about_person",
    "recorded_by",
    "recorded_at",
    "reviewed_by",
    "reviewed_at",
    "review_note",
    "possible_serious_breach",
    "breach_due_at",
    "breach_reported_on",
)


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def _when(value) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


def csv_rows(found: QuerySet) -> Iterator[tuple]:
    """One row a deviation, in the order of CSV_HEADER: codes, dates in ISO form, times in
    Europe/London. No identifying data (the family's trial identifier only)."""
    for d in found.select_related("family__site", "recorded_by", "reviewed_by", "person").iterator(
        chunk_size=500
    ):
        yield (
            d.pk,
            d.family.identifier,
            d.family.site.code,
            d.kind,
            d.severity,
            d.occurred_on.isoformat(),
            d.description,
            d.corrective_action,
            d.preventive_action,
            d.source,
            _username(d.person),
            _username(d.recorded_by),
            _when(d.recorded_at),
            _username(d.reviewed_by),
            _when(d.reviewed_at),
            d.review_note,
            "yes" if d.possible_serious_breach else "no",
            _when(d.breach_due_at),
            d.breach_reported_on.isoformat() if d.breach_reported_on else "",
        )

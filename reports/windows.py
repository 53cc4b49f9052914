"""Visit windows and randomisation dates as SQL, for reports that count families by where
they are in the schedule on a day: a family randomised on or before day D was randomised
before the first instant of D + 1 (in the trial's time zone), so "the window has opened" or
"has closed" is a comparison of the allocation's time with one instant per visit; and the
days from randomisation to a form's date are computed by the database, on SQLite and
PostgreSQL alike."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Func, IntegerField, Q
from django.utils import timezone

from trial.schedule import Visit

from .scope import ReportScope


class DayNumber(Func):
    """A date as a whole number of days from a fixed day: the difference of two is the days
    between them, on SQLite and PostgreSQL alike."""

    output_field = IntegerField()
    template = "(%(expressions)s - DATE '1970-01-01')"

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() is x.5 for every date, so the truncated differences are exact.
        return self.as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)", **extra
        )


def start_of(day: date) -> datetime:
    """The first instant of a day in the trial's time zone: a family randomised on or
    before day D was randomised before the start of D + 1."""
    return timezone.make_aware(datetime.combine(day, time.min))


def randomised_in(scope: ReportScope, via: str = "") -> Q:
    """The families randomised in scope, as a condition reached through `via` (given in one
    filter() call with whatever reads the allocation, so that one join serves both)."""
    return Q(
        scope.dates(f"{via}allocations__randomised_at__date"),
        **{
            f"{via}allocations__mode": scope.mode,
            f"{via}trial": scope.trial,
            f"{via}site_id__in": scope.site_ids,
        },
    )


@dataclass(frozen=True)
class Cuts:
    """A visit's windows as instants of the randomisation time: a family's window has opened
    by the report's day when it was randomised before `opened` (None: always, the baseline),
    and has closed when it was randomised before `closed`."""

    visit: Visit
    opened: datetime | None
    closed: datetime

    @classmethod
    def of(cls, visit: Visit, on: date) -> "Cuts":
        # Opened: randomised on or before on - (day - before); closed: the window's last day,
        # randomisation + day + after, is before `on`.
        opened = None
        if not visit.before_randomisation:
            opened = start_of(on - timedelta(days=visit.day - visit.before - 1))
        return cls(visit, opened, start_of(on - timedelta(days=visit.day + visit.after)))

    def q_opened(self, at: str) -> Q:
        return Q() if self.opened is None else Q(**{f"{at}__lt": self.opened})

    def q_unopened(self, at: str) -> Q:
        return Q(pk__in=[]) if self.opened is None else Q(**{f"{at}__gte": self.opened})

    def q_closed(self, at: str) -> Q:
        return Q(**{f"{at}__lt": self.closed})

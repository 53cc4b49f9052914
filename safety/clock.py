"""The safety clock: when each step of a safety event is due, and whether it was late.
Pure Python: no Django import.

The UK rules for trials that are not of a medicinal product (HRA):
- the site reports a serious adverse event or safeguarding incident, with its principal
  investigator's assessment, within 24 hours of becoming aware of it;
- an event assessed as related to the intervention *and* unexpected is reported to the
  research ethics committee within 15 days of the chief investigator becoming aware of it.
Days are calendar days: weekends and bank holidays count.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

SITE_REPORT = timedelta(hours=24)
REC_REPORT_DAYS = 15
# Relatedness answers that count as "related" (possibly, probably or definitely).
RELATED = frozenset({"possible", "probable", "definite"})
# How long before a due time a reminder goes out, per step.
REMIND_BEFORE = {"report": timedelta(hours=0), "assess": timedelta(hours=12)}
REMIND_REC_DAYS_BEFORE = 3


def site_report_due(aware_at: datetime) -> datetime:
    return aware_at + SITE_REPORT


def on_time(done_at: datetime, due_at: datetime) -> bool:
    """A step done at its due time exactly is on time; a minute after is late."""
    return done_at <= due_at


def is_reportable(relatedness: str | None, expectedness: str | None) -> bool:
    """Related to the intervention and unexpected: what the ethics committee must hear of."""
    return relatedness in RELATED and expectedness == "unexpected"


def rec_report_due(ci_aware_on: date) -> date:
    """The last day to report to the ethics committee: day 15, counting the day the chief
    investigator became aware as day 0."""
    return ci_aware_on + timedelta(days=REC_REPORT_DAYS)


def rec_on_time(reported_on: date, due_on: date) -> bool:
    return reported_on <= due_on


@dataclass(frozen=True)
class Due:
    """One step of an event's clock: its due time (a datetime, or a date for a step due by
    the end of a day), whether it is done, and whether it was, or now is, late."""

    step: str
    label: str
    due: datetime | date
    done: datetime | date | None
    late: bool

    @property
    def open(self) -> bool:
        return self.done is None


def step_late(due: datetime | date, done: datetime | date | None, now: datetime) -> bool:
    """Done after its due time, or not done and its due time passed. A date is due by the
    end of that day (in the trial's calendar, which the caller gives as `now`'s date)."""
    if isinstance(due, datetime):
        return (done or now) > due
    when = done if done is not None else now.date()
    if isinstance(when, datetime):
        when = when.date()
    return when > due

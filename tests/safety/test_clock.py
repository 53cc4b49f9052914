"""The safety clock as a pure module: the 24-hour report, the ethics committee's day 15,
calendar days with weekends counted."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from safety import clock

AWARE = datetime(2026, 11, 6, 16, 30, tzinfo=UTC)  # a Friday afternoon


def test_the_site_report_is_due_24_hours_after_awareness_and_a_minute_more_is_late():
    due = clock.site_report_due(AWARE)
    assert due == datetime(2026, 11, 7, 16, 30, tzinfo=UTC)
    assert clock.on_time(AWARE + timedelta(hours=23, minutes=59), due)
    assert clock.on_time(AWARE + timedelta(hours=24), due)
    assert not clock.on_time(AWARE + timedelta(hours=24, minutes=1), due)


def test_the_ethics_committee_report_is_due_on_day_15_weekends_counted():
    # Aware on a Friday: day 15 is the Saturday two weeks and a day later.
    due = clock.rec_report_due(date(2026, 11, 6))
    assert due == date(2026, 11, 21)
    assert due.weekday() == 5
    assert clock.rec_on_time(date(2026, 11, 21), due)
    assert not clock.rec_on_time(date(2026, 11, 22), due)


def test_only_related_and_unexpected_is_reportable():
    assert clock.is_reportable("possible", "unexpected")
    assert clock.is_reportable("definite", "unexpected")
    assert not clock.is_reportable("unlikely", "unexpected")
    assert not clock.is_reportable("probable", "expected")
    assert not clock.is_reportable(None, None)


def test_a_step_not_done_is_late_once_its_due_time_passes():
    due = clock.site_report_due(AWARE)
    assert not clock.step_late(due, None, due)
    assert clock.step_late(due, None, due + timedelta(minutes=1))
    # Done on time stays on time however late one looks.
    assert not clock.step_late(due, due - timedelta(hours=1), due + timedelta(days=30))
    day = clock.rec_report_due(date(2026, 11, 6))
    assert not clock.step_late(day, None, datetime(2026, 11, 21, 23, 59, tzinfo=UTC))
    assert clock.step_late(day, None, datetime(2026, 11, 22, 0, 1, tzinfo=UTC))


@given(
    aware=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 40),
)
def test_on_time_exactly_when_within_24_hours(aware, minutes):
    done = aware + timedelta(minutes=minutes)
    assert clock.on_time(done, clock.site_report_due(aware)) == (minutes <= 24 * 60)


@given(
    aware=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)),
    days=st.integers(min_value=0, max_value=60),
)
def test_the_rec_report_is_on_time_for_15_calendar_days_whatever_the_weekday(aware, days):
    assert clock.rec_on_time(aware + timedelta(days=days), clock.rec_report_due(aware)) == (
        days <= 15
    )

"""Recruitment by site and month, against hand counts on a known trial with the clock fixed
(15 June 2026, the plan having started on 5 January 2026: 24 months, 150 families): pooled
for everyone, targets and the projection from the definition, bounded queries, and a bad
filter answered 400 naming it.

BUC (target 30):
  referred 10 Jan, eligible, consented 20 Jan, randomised 3 Feb          -> waits 24 days
  referred 25 Jan, not eligible
  referred 14 Feb, eligible, consented 25 Feb (again 2 Mar), randomised 10 Mar -> 24 days
  referred 1 Apr, eligible, consented 5 Apr, randomised 20 May           -> 49 days
  referred 30 May, eligible, not consented
OXF (target 8):
  referred 1 Feb, eligible, consented 10 Feb, randomised 30 Apr 23:30 UTC (1 May in London)
                                                                          -> 89 days
  referred 15 Mar, not eligible
  referred 20 Mar, eligible, consented 25 Mar, randomised in the other mode only
  referred 1 Jun, eligible, consented 5 Jun, randomised 10 Jun           -> 9 days
MKN (target 30, proposed): nothing.
"""

import dataclasses
import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from randomisation.models import Allocation
from reports.recruitment import NO_PLAN, recruitment_of
from reports.scope import report_scope
from tests.access import consent_v1
from tests.factories import SiteFactory
from tests.randomisation.bulk import bulk_families
from trial.identifiers import family_identifier, screening_identifier
from trial.models import ConsentRecord, Family, Participant, ScreeningRecord
from trial.schema import ReportingSection

ON = date(2026, 6, 15)
UTC = ZoneInfo("UTC")
ARM_WORDS = ("RECONNECT", "ReConnect arm", "USUAL", "Usual care")
VIEWERS = ("manager", "coord.buc", "assessor.buc", "stats.blind", "stats.unblind")
PLAN_DAYS = 730  # 5 Jan 2026 to 4 Jan 2028, both included


class Known:
    def __init__(self, world):
        self.world = world
        self.version = consent_v1(world)
        self.n = 0

    def referral(self, site, referred: date, *, eligible=True):
        self.n += 1
        return ScreeningRecord.objects.create(
            trial=self.world.trial,
            site=site,
            identifier=screening_identifier("RC", site.code, self.n),
            referral_date=referred,
            referrer_type="social_worker",
            child_born=True,
            child_age_days=100,
            child_age_months=3,
            age_band="under_6m",
            answers={},
            eligible=eligible,
            failed_criterion="" if eligible else "child_age",
            outcome="consented" if eligible else "not_eligible",
            recorded_by=self.world.manager,
        )

    def family(self, site, referred: date, *consents: date, randomised=None, mode="test"):
        record = self.referral(site, referred)
        family = Family.objects.create(
            trial=self.world.trial,
            site=site,
            identifier=family_identifier("RC", site.code, self.n),
            sequence=self.n,
            screening=record,
            legal_status="cp_plan",
            enrolled_on=consents[0],
            enrolled_by=self.world.manager,
        )
        parent = Participant.objects.create(family=family, role="parent", number=1)
        for day in consents:
            ConsentRecord.objects.create(
                family=family,
                participant=parent,
                version=self.version,
                consent_date=day,
                taken_by=self.world.manager,
                method="in_person",
                answers=dict.fromkeys(self.version.items, True),
                recorded_by=self.world.manager,
            )
        if randomised:
            allocation = Allocation.objects.create(
                family=family,
                mode=mode,
                arm="RECONNECT",
                factor_values={},
                randomised_by=self.world.manager,
            )
            Allocation.objects.filter(pk=allocation.pk).update(randomised_at=randomised)
        return family


def at(day: date, hour=12, minute=0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def pin_plan(world) -> None:
    """The trial's recruitment plan as these counts were made against (from 5 January 2026,
    24 months, 150 families), whatever the shipped definition's start."""
    source = re.sub(
        r'(?m)^(    start: )"[0-9-]+"$', r'\1"2026-01-05"', world.trial.definition_source
    )
    world.trial.definition_source = source
    world.trial.definition_sha256 = hashlib.sha256(source.encode()).hexdigest()
    world.trial.save()


def build_known(world) -> Known:
    pin_plan(world)
    world.oxf.recruitment_target = 8
    world.oxf.save()
    k = Known(world)
    buc, oxf = world.buc, world.oxf
    k.family(buc, date(2026, 1, 10), date(2026, 1, 20), randomised=at(date(2026, 2, 3)))
    k.referral(buc, date(2026, 1, 25), eligible=False)
    k.family(
        buc,
        date(2026, 2, 14),
        date(2026, 3, 2),
        date(2026, 2, 25),
        randomised=at(date(2026, 3, 10)),
    )
    k.family(buc, date(2026, 4, 1), date(2026, 4, 5), randomised=at(date(2026, 5, 20)))
    k.referral(buc, date(2026, 5, 30))
    k.family(oxf, date(2026, 2, 1), date(2026, 2, 10), randomised=at(date(2026, 4, 30), 23, 30))
    k.referral(oxf, date(2026, 3, 15), eligible=False)
    k.family(
        oxf, date(2026, 3, 20), date(2026, 3, 25), randomised=at(date(2026, 4, 2)), mode="live"
    )
    k.family(oxf, date(2026, 6, 1), date(2026, 6, 5), randomised=at(date(2026, 6, 10)))
    return k


@pytest.fixture
def known(world):
    return build_known(world)


@pytest.fixture
def fixed_today(monkeypatch):
    """The pages' and API's scope read today as ON."""
    monkeypatch.setattr("reports.scope.today", lambda: ON)


def _scope(world, name="manager", **filters):
    return report_scope(world.users[name], world.trial, on=ON, **filters)


def _part(report, code):
    return next(p for p in report.sites if p.code == code)


def _table(part):
    return {
        m.month.strftime("%b"): (m.referrals, m.eligible, m.consented, m.randomised, m.cumulative)
        for m in part.months
    }


def test_monthly_counts_match_hand_counts(world, known):
    report = recruitment_of(_scope(world))
    assert [p.code for p in report.sites] == ["BUC", "MKN", "OXF"]
    assert _table(_part(report, "BUC")) == {
        "Jan": (2, 1, 1, 0, 0),
        "Feb": (1, 1, 1, 1, 1),
        "Mar": (0, 0, 0, 1, 2),
        "Apr": (1, 1, 1, 0, 2),
        "May": (1, 1, 0, 1, 3),
        "Jun": (0, 0, 0, 0, 3),
    }
    assert _table(_part(report, "OXF")) == {
        "Jan": (0, 0, 0, 0, 0),
        "Feb": (1, 1, 1, 0, 0),
        "Mar": (2, 1, 1, 0, 0),
        "Apr": (0, 0, 0, 0, 0),
        "May": (0, 0, 0, 1, 1),  # randomised at 00:30 on 1 May in London
        "Jun": (1, 1, 1, 1, 2),
    }
    assert set(_table(_part(report, "MKN")).values()) == {(0, 0, 0, 0, 0)}
    assert _table(report.overall) == {
        "Jan": (2, 1, 1, 0, 0),
        "Feb": (2, 2, 2, 1, 1),
        "Mar": (2, 1, 1, 1, 2),
        "Apr": (1, 1, 1, 0, 2),
        "May": (1, 1, 0, 2, 4),
        "Jun": (1, 1, 1, 1, 5),
    }
    totals = {p.code: dataclasses.astuple(p.totals) for p in (*report.sites, report.overall)}
    assert totals == {
        "BUC": (5, 4, 3, 3),
        "OXF": (4, 3, 3, 2),
        "MKN": (0, 0, 0, 0),
        "all": (9, 7, 6, 5),
    }


def test_targets_and_who_is_behind(world, known):
    report = recruitment_of(_scope(world))
    assert (report.plan.start, report.plan.end, report.plan.target) == (
        date(2026, 1, 5),
        date(2028, 1, 4),
        150,
    )
    # 15 June is day 162 of the plan's 730.
    buc, oxf = _part(report, "BUC").progress, _part(report, "OXF").progress
    assert (buc.randomised, buc.target, buc.expected, buc.behind) == (
        3,
        30,
        round(30 * 162 / PLAN_DAYS, 1),
        True,
    )
    assert (oxf.randomised, oxf.target, oxf.behind) == (2, 8, False)  # 1.8 expected
    everyone = report.overall.progress
    assert (everyone.randomised, everyone.target, everyone.behind) == (5, 150, True)
    assert everyone.expected == round(150 * 162 / PLAN_DAYS, 1)
    assert report.any_behind
    january = report.overall.months[0]
    assert january.target == pytest.approx(150 * 27 / PLAN_DAYS)  # by 31 January
    # The chart runs on to the plan's end; months to come have no count yet.
    assert report.points[0].month == date(2026, 1, 1)
    assert report.points[-1].month == date(2028, 1, 1)
    assert report.points[-1].target == 150
    assert [p.randomised for p in report.points[:7]] == [0, 1, 2, 2, 4, 5, None]


def test_the_projection_from_the_last_90_days(world, known):
    report = recruitment_of(_scope(world))
    p = report.projection
    # In the 90 days to 15 June: 1 May (OXF), 20 May (BUC), 10 June (OXF).
    assert (p.status, p.recent, p.randomised, p.remaining) == ("projected", 3, 5, 145)
    assert p.central == ON + timedelta(days=145 * 90 // 3)
    assert p.earliest < p.central < p.latest
    assert report.projection_text.startswith(
        "At the rate of the last 3 months (3 families, about 1 a month) the target of 150"
    )
    assert "after the planned end of recruitment (January 2028)" in report.projection_text


def test_time_from_referral_to_randomisation(world, known):
    report = recruitment_of(_scope(world))
    w = report.overall.waits
    assert (w.n, w.median, w.q1, w.q3, w.minimum, w.maximum) == (5, 24, 24, 49, 9, 89)
    b, o = _part(report, "BUC").waits, _part(report, "OXF").waits
    assert (b.n, b.median, b.q1, b.q3, b.minimum, b.maximum) == (3, 24, 24, 36.5, 24, 49)
    assert (o.n, o.median, o.q1, o.q3) == (2, 49, 29, 69)
    assert _part(report, "MKN").waits.n == 0


def test_the_date_range_narrows_months_and_counts(world, known):
    report = recruitment_of(_scope(world, start=date(2026, 2, 15), end=date(2026, 5, 10)))
    assert [m.month.month for m in report.overall.months] == [2, 3, 4, 5]
    buc = _table(_part(report, "BUC"))
    assert buc["Feb"] == (0, 0, 1, 0, 1)  # referred 14 Feb, randomised 3 Feb: before the range
    assert dataclasses.astuple(report.overall.totals) == (3, 2, 3, 2)
    assert report.overall.waits.n == 2  # 10 March and 1 May
    assert report.points[-1].month == date(2026, 5, 1)  # the range ends the chart too
    # Progress and the projection are as at today, whatever the range.
    assert report.overall.progress.randomised == 5 and report.projection.recent == 3


def test_one_site_against_its_own_target(world, known):
    report = recruitment_of(_scope(world, site="OXF"))
    assert [p.code for p in report.sites] == ["OXF"]
    assert report.plan.target == 8 and report.overall.progress.target == 8
    assert report.points[-1].target == 8
    assert "site OXF" in report.svg


def test_a_viewer_of_some_sites_has_their_targets_summed(world, known):
    report = recruitment_of(_scope(world, "coord.buc"))
    assert [p.code for p in report.sites] == ["BUC"]
    assert report.plan.target == 30


def test_the_target_is_met(world, known):
    world.oxf.recruitment_target = 2
    world.oxf.save()
    report = recruitment_of(_scope(world, site="OXF"))
    assert report.projection.status == "reached"
    assert report.projection_text.startswith("The target of 2 has been reached")


def test_no_randomisation_in_the_window_gives_no_projection(world, known):
    report = recruitment_of(report_scope(world.manager, world.trial, on=date(2026, 12, 1)))
    assert report.projection.status == "no_recent"
    assert "no recent rate" in report.projection_text


def test_without_a_recruitment_plan_the_counts_stand_alone(world, known):
    scope = _scope(world)
    bare = scope.config.model_copy(update={"reporting": ReportingSection()})
    report = recruitment_of(dataclasses.replace(scope, config=bare))
    assert report.plan is None and report.projection is None
    assert report.projection_text == NO_PLAN
    assert dataclasses.astuple(report.overall.totals) == (9, 7, 6, 5)
    assert all(m.target is None for m in report.overall.months)
    assert report.overall.progress is None
    html = render_to_string(
        "reports/_recruitment_body.html", {"report": report, "scope": dataclasses.replace(scope)}
    )
    assert "no recruitment plan" in html and "behind target" not in html
    ET.fromstring(report.svg)


def _queries(callable_) -> int:
    cache.clear()  # counts kept per site (sites.kept): count the report computed afresh
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured)


def test_queries_are_the_same_for_few_and_many_families_and_sites(world, known):
    scope = _scope(world)
    few = _queries(lambda: recruitment_of(scope))
    families = bulk_families(world, world.buc, known.version, 27, start=100)
    Allocation.objects.bulk_create(
        Allocation(
            family=f, mode="test", arm="USUAL", factor_values={}, randomised_by=world.manager
        )
        for f in families
    )
    for n in range(4):
        SiteFactory(trial=world.trial, code=f"S{'ABCD'[n]}X", recruitment_target=10)
    scope = _scope(world)
    assert len(scope.sites) == 7
    cache.clear()  # written in bulk, with no ledger event to move the sites' marks
    assert recruitment_of(scope).overall.totals.randomised == 5 + 27
    assert _queries(lambda: recruitment_of(scope)) == few
    assert few <= 6  # five counts, and the sites' marks (sites.kept)


# -- the page, the chart and the API ------------------------------------------------------


@pytest.mark.parametrize("name", VIEWERS)
def test_the_page_shows_the_figures_pooled(world, known, fixed_today, page, name):
    response = page(world.users[name]).get(reverse("report-recruitment"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'role="img"' in text and "Families randomised against the target" in text
    assert "behind target" in text and "fewer than 90 %" in text
    assert "At the rate of the last 3 months" in text
    assert not any(word in text for word in ARM_WORDS)


def test_the_chart_downloads_as_svg(world, known, fixed_today, page):
    response = page(world.manager).get(reverse("report-recruitment-svg"), {"site": "BUC"})
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    assert root.attrib["role"] == "img"
    labels = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"Jan 2026", "Jun 2026", "Jan 2028"} <= labels


def test_the_api_and_csv_give_the_same_numbers(world, known, fixed_today, api):
    body = api(world.manager).get(reverse("api-report-recruitment")).json()
    assert body["on"] == "2026-06-15"
    assert body["overall"]["totals"] == {
        "referrals": 9,
        "eligible": 7,
        "consented": 6,
        "randomised": 5,
    }
    assert body["projection"]["recent"] == 3 and body["plan"]["target"] == 150
    buc = next(s for s in body["sites"] if s["site"] == "BUC")
    assert buc["progress"]["behind"] is True and buc["waits"]["median"] == 24
    csv = api(world.manager).get(reverse("api-report-recruitment-csv"))
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0] == (
        "site,month,referrals,eligible,consented,randomised,cumulative randomised,"
        "target by the end of the month"
    )
    assert f"all,2026-01,2,1,1,0,0,{round(150 * 27 / PLAN_DAYS, 1)}" in lines
    assert f"OXF,2026-05,0,0,0,1,1,{round(8 * 147 / PLAN_DAYS, 1)}" in lines
    assert sum(1 for line in lines if line.startswith("BUC,")) == 6


def test_a_bad_filter_is_refused_naming_it(world, known, page, api):
    response = page(world.manager).get(reverse("report-recruitment"), {"from": "soon"})
    assert response.status_code == 400 and "is not a date" in response.content.decode()
    svg = page(world.manager).get(reverse("report-recruitment-svg"), {"site": "ZZZ"})
    assert svg.status_code == 400
    body = api(world.manager).get(reverse("api-report-recruitment"), {"to": "2026-13-40"})
    assert body.status_code == 400 and "to" in body.json()["error"]["fields"]
    csv = api(world.manager).get(reverse("api-report-recruitment-csv"), {"site": "ZZZ"})
    assert csv.status_code == 400 and "site" in csv.json()["error"]["fields"]


def test_the_local_month_is_london_time(world, known):
    # 30 April 23:30 UTC is 1 May 00:30 in London (summer time): counted in May.
    assert timezone.localdate(at(date(2026, 4, 30), 23, 30)) == date(2026, 5, 1)

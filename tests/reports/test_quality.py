"""The data quality report against hand counts on a known trial.

Five families, randomised on days chosen so that each window is where the test needs it
(6 months: open from day 154, closed after day 210; 12 months opens on day 322):

- BUC A, day 250: baseline complete (demographics dated 50 days before randomisation: out of
  window); at 6 months PSOC in window, CORE-10 late (out of window, an automatic query), the
  PSI-4-SF marked not done, the other six forms overdue.
- BUC B, day 170: withdrew from questionnaires (today), so its four questionnaires are not
  expected; legal status and intervention receipt complete at 6 months; the rest still due.
- BUC C, day 300: withdrew completely on day 100: nothing is expected at 6 months.
- OXF D, day 10: no consent to video, so no CARE-Index is expected; no window open yet.
- OXF E, day 200: PSOC dated on day 150, before its 6-month window opened (an automatic query).

Queries at BUC: the automatic one (today), and the monitor's raised 3 (on a form that reveals
the arm), 10, 20 and 40 days ago, and one closed. Verified: A's demographics and PSOC and
B's legal status at baseline."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.channels import Channel
from core.clock import today
from core.errors import NotPermitted
from crf.entry import form_not_done, response_verify
from crf.models import NotDone, Query, Response
from crf.queries import query_close, query_raise
from crf.selectors import schedule_of
from randomisation.models import Allocation
from randomisation.services import family_randomise
from reports.quality import quality_of
from reports.scope import report_scope
from tests.access import consent_v1, open_screening, sealed_test_list
from tests.crf.conftest import assessor_at, enter, load_forms
from tests.trial.conftest import ALL_YES, consent, enrol
from trial.enrolment import withdrawal_record
from trial.models import ConsentRecord, Family, Participant, ScreeningRecord, Withdrawal

pytestmark = pytest.mark.django_db


def coordinator(world, family):
    return world.coord_buc if family.site == world.buc else world.coord_oxf


def put(world, family, form, visit, dated):
    """A complete form, dated so, entered by whichever of the site's staff enters it."""
    definition = load_forms(world)[form]
    changes = {definition.spec.dated_by: dated.isoformat()} if definition.spec.dated_by else {}
    for actor in (coordinator(world, family), assessor_at(world, family.site)):
        try:
            return enter(world, family, form, visit, actor=actor, on=dated, **changes)
        except NotPermitted:
            continue
    raise AssertionError(f"nobody enters {form}")


def randomised(world, code, days_ago, *, video=True):
    """A family enrolled, its baseline forms complete (dated 5 days before randomisation),
    randomised `days_ago` days ago."""
    site_coordinator = world.coord_buc if code == "BUC" else world.coord_oxf
    family = enrol(
        world,
        consent_v1(world),
        screening=open_screening(world, code),
        actor=site_coordinator,
        consents=[
            (
                1,
                consent(
                    world,
                    consent_v1(world),
                    taken_by=site_coordinator,
                    answers=ALL_YES | {"video": video},
                ),
            )
        ],
    )
    load_forms(world)
    for form in schedule_of(world.trial).baseline.forms:
        if form != "care_index" or video:
            put(world, family, form, "baseline", today())
    sealed_test_list(world)
    allocation = family_randomise(family=family, actor=site_coordinator, channel=Channel.COMMAND)
    Allocation.objects.filter(pk=allocation.pk).update(
        randomised_at=allocation.randomised_at - timedelta(days=days_ago)
    )
    Response.objects.filter(family=family, visit="baseline").update(
        dated_on=today() - timedelta(days=days_ago + 5)
    )
    family.randomised_on = today() - timedelta(days=days_ago)
    return family


def day(family, n):
    return family.randomised_on + timedelta(days=n)


def withdraw(world, family, level, on_day):
    withdrawal = withdrawal_record(
        family=family,
        actor=coordinator(world, family),
        channel=Channel.COMMAND,
        level=level,
        withdrawal_date=today(),
        reason="The family asked to.",
    )
    Withdrawal.objects.filter(pk=withdrawal.pk).update(withdrawal_date=on_day)


def response(family, form, visit="baseline"):
    return Response.objects.get(family=family, form=form, visit=visit)


def ask(world, answer, days_ago, field=None):
    query = query_raise(
        response=answer,
        field=field or next(iter(dict(answer.spec.slots()))),
        text="Please check this answer.",
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )
    Query.objects.filter(pk=query.pk).update(raised_at=query.raised_at - timedelta(days=days_ago))
    return query


def build(world):
    a = randomised(world, "BUC", 250)
    b = randomised(world, "BUC", 170)
    c = randomised(world, "BUC", 300)
    d = randomised(world, "OXF", 10, video=False)
    e = randomised(world, "OXF", 200)
    Response.objects.filter(family=a, visit="baseline", form="demographics").update(
        dated_on=day(a, -50)
    )
    put(world, a, "psoc", "month_6", day(a, 180))
    put(world, a, "core10", "month_6", day(a, 215))
    form_not_done(
        family=a,
        form="psi4sf",
        visit="month_6",
        reason="The family missed the visit.",
        actor=world.coord_buc,
        channel=Channel.COMMAND,
    )
    put(world, b, "legal_status", "month_6", day(b, 165))
    receipt = put(world, b, "intervention_receipt", "month_6", day(b, 168))
    withdraw(world, b, "questionnaires", today())
    withdraw(world, c, "complete", day(c, 100))
    put(world, e, "psoc", "month_6", day(e, 150))
    for answer in (
        response(a, "demographics"),
        response(a, "psoc"),
        response(b, "legal_status"),
    ):
        response_verify(response=answer, actor=world.monitor_buc, channel=Channel.COMMAND)
    ask(world, receipt, 3)
    ask(world, response(a, "psoc", "month_6"), 10)
    ask(world, response(a, "demographics"), 20)
    ask(world, response(a, "prfq"), 40)
    closed = ask(world, response(a, "psoc"), 5)
    query_close(query=closed, actor=world.monitor_buc, channel=Channel.COMMAND, text="Fine.")
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


@pytest.fixture
def known(world):
    return build(world)


def rows_of(report, site=""):
    found = report.totals if not site else [r for r in report.rows if r.site == site]
    return {
        (r.visit, r.form): (r.expected, r.complete, r.overdue, r.not_done, r.out_of_window)
        for r in found
    }


BASELINE = ("demographics", "legal_status", "psi4sf", "prfq", "psoc", "core10", "care_index")
MONTH_6 = (
    "legal_status",
    "psi4sf",
    "prfq",
    "psoc",
    "core10",
    "care_index",
    "service_use",
    "intervention_receipt",
    "assessor_guess",
)

# (expected, complete, overdue, not done, out of window)
BUC = {
    **{("baseline", f): (3, 3, 0, 0, 0) for f in BASELINE},
    ("baseline", "demographics"): (3, 3, 0, 0, 1),
    ("month_6", "legal_status"): (2, 1, 1, 0, 0),
    ("month_6", "psi4sf"): (1, 0, 0, 1, 0),
    ("month_6", "prfq"): (1, 0, 1, 0, 0),
    ("month_6", "psoc"): (1, 1, 0, 0, 0),
    ("month_6", "core10"): (1, 1, 0, 0, 1),
    ("month_6", "care_index"): (2, 0, 1, 0, 0),
    ("month_6", "service_use"): (2, 0, 1, 0, 0),
    ("month_6", "intervention_receipt"): (2, 1, 1, 0, 0),
    ("month_6", "assessor_guess"): (2, 0, 1, 0, 0),
}
OXF = {
    **{("baseline", f): (2, 2, 0, 0, 0) for f in BASELINE},
    ("baseline", "care_index"): (1, 1, 0, 0, 0),
    **{("month_6", f): (1, 0, 0, 0, 0) for f in MONTH_6},
    ("month_6", "psoc"): (1, 1, 0, 0, 1),
}
REVEALING = ("service_use", "intervention_receipt")


def site_of(report, code):
    return next(s for s in report.sites if s.site == code)


def nothing_later(counts):
    return {k: v for k, v in counts.items() if k[0] in ("baseline", "month_6")}


def test_every_form_count_matches_the_hand_counts(known, world):
    report = quality_of(report_scope(world.manager, world.trial))
    assert report.by_arm and report.randomised == 5 and not report.left_out
    assert nothing_later(rows_of(report, "BUC")) == BUC
    assert nothing_later(rows_of(report, "OXF")) == OXF
    later = {k: v for k, v in rows_of(report).items() if k[0] not in ("baseline", "month_6")}
    assert later and set(later.values()) == {(0, 0, 0, 0, 0)}
    totals = rows_of(report)
    assert totals[("month_6", "psoc")] == (2, 2, 0, 0, 1)
    assert totals[("baseline", "care_index")] == (4, 4, 0, 0, 0)
    assert report.out_of_window == 3 and report.overdue == 6
    assert [s.site for s in report.sites] == ["BUC", "MKN", "OXF"]
    buc, oxf = site_of(report, "BUC"), site_of(report, "OXF")
    assert (buc.site, buc.randomised, buc.expected, buc.complete) == ("BUC", 3, 35, 25)
    assert (buc.overdue, buc.not_done, buc.out_of_window) == (6, 1, 2)
    assert (oxf.site, oxf.randomised, oxf.expected, oxf.complete) == ("OXF", 2, 22, 14)
    assert (oxf.overdue, oxf.not_done, oxf.out_of_window) == (0, 0, 1)


def test_a_family_that_withdrew_twice_owes_nothing_either_level_stops(known, world):
    # B withdrew from questionnaires; now from all contact too: its CARE-Index (video),
    # service use and assessor's guess (contact) are no longer expected at 6 months, and
    # its intervention receipt, complete before, still counts.
    withdraw(world, known["b"], "all_contact", today())
    report = quality_of(report_scope(world.manager, world.trial))
    less = {("month_6", f): (1, 0, 1, 0, 0) for f in ("care_index", "service_use")}
    less[("month_6", "assessor_guess")] = (1, 0, 1, 0, 0)
    assert nothing_later(rows_of(report, "BUC")) == BUC | less
    assert site_of(report, "BUC").expected == 35 - 3


def test_queries_by_site_and_age(known, world):
    report = quality_of(report_scope(world.manager, world.trial))
    buc, oxf = site_of(report, "BUC"), site_of(report, "OXF")
    # The automatic query on A's late CORE-10, the monitor's five (one closed).
    assert (buc.queries_raised, buc.queries_open, buc.queries_closed) == (6, 5, 1)
    assert buc.open_by_age == (2, 1, 1, 1)
    assert (oxf.queries_raised, oxf.queries_open, oxf.queries_closed) == (1, 1, 0)
    assert oxf.open_by_age == (1, 0, 0, 0)


def test_verification_against_the_monitoring_plan(known, world):
    report = quality_of(report_scope(world.manager, world.trial))
    buc, oxf = site_of(report, "BUC"), site_of(report, "OXF")
    # Key forms: demographics and legal status (3 + 3 at baseline, B's at 6 months).
    check = buc.verification
    assert (check.key_complete, check.key_verified, check.key_behind) == (7, 2, 5)
    # 18 other forms complete: 20 % of them, rounded up, is 4; one verified.
    assert (check.other_complete, check.other_required, check.other_verified) == (18, 4, 1)
    assert check.other_percent == 20 and check.other_behind == 3
    check = oxf.verification
    assert (check.key_complete, check.key_verified) == (4, 0)
    assert (check.other_complete, check.other_required, check.other_verified) == (10, 2, 0)


def test_retention_at_each_follow_up_visit(known, world):
    retention = quality_of(report_scope(world.manager, world.trial)).retention
    assert [r.visit for r in retention] == ["month_6", "month_12", "month_18"]
    six = retention[0]
    # A's and C's 6-month windows have closed; A has forms complete, C withdrew on day 100.
    assert (six.due, six.retained, six.withdrawn, six.retained_percent) == (2, 1, 1, 50)
    assert all((r.due, r.retained, r.withdrawn) == (0, 0, 0) for r in retention[1:])


@pytest.mark.parametrize("viewer", ["assessor_buc", "stats_blind"])
def test_a_blinded_viewer_sees_no_form_that_reveals_the_arm(known, world, viewer):
    report = quality_of(report_scope(getattr(world, viewer), world.trial))
    assert not report.by_arm and report.left_out
    assert not any(r.form in (*REVEALING, "sae") for r in report.rows + report.totals)
    expected = {k: v for k, v in BUC.items() if k[1] not in REVEALING}
    assert nothing_later(rows_of(report, "BUC")) == expected
    buc = site_of(report, "BUC")
    assert (buc.expected, buc.complete, buc.overdue) == (31, 24, 4)
    # The query on B's intervention receipt is left out with the form.
    assert (buc.queries_raised, buc.queries_open, buc.open_by_age) == (5, 4, (1, 1, 1, 1))
    assert buc.verification.other_complete == 17
    text = str(report.as_dict()) + "".join(map(str, report.csv_rows()))
    assert not any(form in text for form in (*REVEALING, "sae"))


def test_the_date_range_filters_on_the_randomisation_date(known, world):
    start = today() - timedelta(days=220)
    report = quality_of(report_scope(world.manager, world.trial, start=start))
    # A (day 250) and C (day 300) are left out.
    assert report.randomised == 3 and report.start == start
    assert rows_of(report, "BUC")[("month_6", "care_index")] == (1, 0, 0, 0, 0)
    assert report.retention[0].due == 0
    one = quality_of(report_scope(world.manager, world.trial, site="OXF"))
    assert [s.site for s in one.sites] == ["OXF"] and one.randomised == 2


def test_the_page_shows_the_figures_and_says_what_it_covers(known, world, page):
    answer = page(world.manager).get("/reports/quality/")
    assert answer.status_code == 200
    text = answer.content.decode()
    assert 'data-testid="quality-out-of-window"' in text
    assert "Families randomised from the start of the trial" in text
    assert "Intervention receipt" in text and "left out" not in text
    narrowed = page(world.manager).get(
        "/reports/quality/", {"site": "OXF", "from": (today() - timedelta(days=220)).isoformat()}
    )
    text = narrowed.content.decode()
    assert narrowed.status_code == 200 and "At OXF." in text
    assert f"Families randomised from {today() - timedelta(days=220):%-d %b %Y}" in text
    assert "/api/v1/reports/quality.csv?site=OXF&amp;from=" in text


def test_a_blinded_viewer_is_told_what_is_left_out(known, world, page):
    text = page(world.assessor_buc).get("/reports/quality/").content.decode()
    assert 'data-testid="quality-left-out"' in text and "left out" in text
    names = [d.title for d in world.trial.forms.filter(reveals_arm=True)]
    left_out = text.split('data-testid="quality-left-out"')[1].split("</div>")[0]
    assert all(name in left_out for name in names)
    rest = text.replace(left_out, "")
    assert not any(name in rest for name in names)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "yesterday"}, "from"), ({"site": "XYZ"}, "site"), ({"to": "2020-13-01"}, "to")],
)
def test_a_bad_filter_is_refused_naming_the_field(world, page, api, params, field):
    answer = page(world.manager).get("/reports/quality/", params)
    assert answer.status_code == 400
    assert f'href="#filter-{field}"' in answer.content.decode()
    for url in ("/api/v1/reports/quality/", "/api/v1/reports/quality.csv"):
        answer = api(world.manager).get(url, params)
        assert answer.status_code == 400
        assert field in str(answer.json())


def test_the_api_gives_the_same_figures_as_json_and_csv(known, world, api):
    body = api(world.manager).get("/api/v1/reports/quality/").json()
    report = quality_of(report_scope(world.manager, world.trial))
    assert body["randomised"] == 5 and body["out_of_window"] == 3
    buc = next(s for s in body["sites"] if s["site"] == "BUC")
    assert buc["open_by_age"] == {
        "up to 7 days": 2,
        "8 to 14 days": 1,
        "15 to 30 days": 1,
        "over 30 days": 1,
    }
    assert buc["verification"]["other_required"] == 4
    assert body["retention"][0]["withdrawn"] == 1
    answer = api(world.manager).get("/api/v1/reports/quality.csv")
    lines = b"".join(answer.streaming_content).decode().splitlines()
    assert lines[0] == "site,visit,form,expected,complete,overdue,not_done,out_of_window"
    assert "BUC,month_6,core10,1,1,0,0,1" in lines
    assert len(lines) == 1 + len(report.rows)
    blinded = api(world.stats_blind).get("/api/v1/reports/quality.csv")
    text = b"".join(blinded.streaming_content).decode()
    assert "intervention_receipt" not in text and "service_use" not in text


def test_signed_out_and_roleless_viewers_get_nothing(world, page, api):
    assert page(None).get("/reports/quality/").status_code == 302
    assert page(world.outsider).get("/reports/quality/").status_code == 403
    assert api(None).get("/api/v1/reports/quality/").status_code in (401, 403)
    assert api(world.outsider).get("/api/v1/reports/quality/").status_code == 403


def clone(source, n):
    """n more families like `source`, row for row (screening, participants, consents,
    allocation, responses, queries, withdrawals, forms not done): the report reads rows."""
    allocation = Allocation.objects.get(family=source)
    for i in range(n):
        screening = ScreeningRecord.objects.get(pk=source.screening_id)
        screening.pk, screening.identifier = None, f"S-{source.pk}-{i}"
        screening.save()
        family = Family.objects.get(pk=source.pk)
        family.pk, family.screening = None, screening
        family.identifier, family.sequence = f"F-{source.pk}-{i}", 1000 + 100 * source.pk + i
        family.save()
        people = {}
        for person in Participant.objects.filter(family=source):
            was, person.pk, person.family = person.pk, None, family
            person.save()
            people[was] = person
        for row in ConsentRecord.objects.filter(family=source):
            row.pk, row.family, row.participant = None, family, people[row.participant_id]
            row.save()
        allocation.pk, allocation.family, allocation.slot = None, family, None
        allocation.save()
        # auto_now_add stamps a new row with the time now: put the source's back.
        Allocation.objects.filter(family=family).update(
            randomised_at=Allocation.objects.get(family=source).randomised_at
        )
        answers = {}
        for row in Response.objects.filter(family=source):
            was, row.pk, row.family = row.pk, None, family
            row.save()
            answers[was] = row
        for row in Query.objects.filter(family=source):
            raised = row.raised_at
            row.pk, row.family, row.response = None, family, answers[row.response_id]
            row.save()
            Query.objects.filter(pk=row.pk).update(raised_at=raised)
        for model in (Withdrawal, NotDone):
            for row in model.objects.filter(family=source):
                row.pk, row.family = None, family
                row.save()
    # These rows are written around the services, with no ledger event to mark the change:
    # what the reports kept for the sites no longer holds.
    cache.clear()


def test_the_report_costs_the_same_queries_for_5_and_30_families(known, world):
    scope = report_scope(world.manager, world.trial)
    with CaptureQueriesContext(connection) as few:
        before = quality_of(scope)
    for family in known.values():
        clone(family, 5)
    with CaptureQueriesContext(connection) as many:
        after = quality_of(scope)
    assert after.randomised == 30
    assert len(many.captured_queries) == len(few.captured_queries)
    # Six families for each of the five: every count six times over.
    assert rows_of(after) == {k: tuple(6 * n for n in v) for k, v in rows_of(before).items()}
    assert [r.retained for r in after.retention] == [6 * r.retained for r in before.retention]
    buc = site_of(after, "BUC")
    assert (buc.queries_raised, buc.open_by_age) == (36, (12, 6, 6, 6))

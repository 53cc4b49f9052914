"""The CONSORT flow diagram: every number against a hand count on a known trial, split by
arm or pooled by the viewer's blinding, the listings behind the numbers, the downloads and
the API, and a bounded number of queries.

The known trial is written as rows directly (set-up, not behaviour under test). The trial
is in test mode, so "randomised" means a test allocation. Today is the trial clock's: the
primary outcome (18 months: day 546, window closes at day 602) is overdue for a family
randomised 620 days ago and still open for one randomised 560 days ago.

RECONNECT (receipt arm):
  R1 650 days ago, primary outcome complete, 3 sessions           -> received, analysed
  R2 650, primary outcome marked not done, receipt of all zeros,
     withdrew from the intervention                                -> lost, missing
  R3 620, no primary outcome (window closed), withdrew from the
     intervention, then from questionnaires                        -> lost, missing
  R4 100 (OXF), eligibility deviation, 1 session                   -> received, ineligible, not due
  R5 650, withdrew completely, no primary outcome                  -> missing (not lost)
USUAL:
  U1 650, primary outcome complete, no receipt                     -> received usual care, analysed
  U2 560, no primary outcome (window open), withdrew from contact  -> not due
  U3 650, primary outcome complete, 2 sessions (contamination),
     then withdrew completely                                      -> not received, analysed
  U4 30 (OXF), primary outcome and receipt as drafts only          -> received, not due
Not randomised: 4 not eligible (2 known_to_social_care, child_age, leaving_area), 3 declined
(2 not_interested, no_time), 2 other (not_contactable, one with no reason), 3 not yet
decided (one approached, one consented, one consented with a live-mode allocation only).
"""

import json
import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.clock import today
from crf.models import NotDone, Response
from randomisation.models import Allocation
from reports.consort import consort_of
from reports.listings import listing_of
from reports.scope import report_scope
from tests.crf.conftest import load_forms
from trial.identifiers import family_identifier, screening_identifier
from trial.models import Family, ProtocolDeviation, ScreeningRecord, Withdrawal


class Maker:
    def __init__(self, world):
        self.world = world
        self.today = today()
        self.forms = load_forms(world)
        self.n = 0

    def screening(self, site, *, days_ago=700, outcome="consented", failed="", reason=""):
        self.n += 1
        return ScreeningRecord.objects.create(
            trial=self.world.trial,
            site=site,
            identifier=screening_identifier("RC", site.code, self.n),
            referral_date=self.today - timedelta(days=days_ago),
            referrer_type="social_worker",
            child_born=True,
            child_age_days=100,
            child_age_months=3,
            age_band="under_6m",
            answers={},
            eligible=not failed,
            failed_criterion=failed,
            outcome=outcome,
            outcome_reason=reason,
            recorded_by=self.world.manager,
        )

    def family(self, site, *, referred_days_ago=700):
        record = self.screening(site, days_ago=referred_days_ago)
        return Family.objects.create(
            trial=self.world.trial,
            site=site,
            identifier=family_identifier("RC", site.code, self.n),
            sequence=self.n,
            screening=record,
            legal_status="cp_plan",
            enrolled_on=record.referral_date,
            enrolled_by=self.world.manager,
        )

    def randomised(self, arm, days_ago, *, site=None, mode="test"):
        family = self.family(site or self.world.buc, referred_days_ago=days_ago + 20)
        allocation = Allocation.objects.create(
            family=family, mode=mode, arm=arm, factor_values={}, randomised_by=self.world.manager
        )
        Allocation.objects.filter(pk=allocation.pk).update(
            randomised_at=timezone.now() - timedelta(days=days_ago)
        )
        return family

    def response(self, family, form, visit, values, status="complete"):
        return Response.objects.create(
            family=family,
            definition=self.forms[form],
            form=form,
            visit=visit,
            status=status,
            values=values,
            entered_by=self.world.manager,
            updated_by=self.world.manager,
        )

    def primary(self, family, status="complete"):
        return self.response(
            family, "primary_outcome", "month_18", {"living_with_birth_parent": True}, status
        )

    def receipt(self, family, sessions, status="complete", visit="month_6"):
        values = {f"sessions_{i}": n for i, n in enumerate(sessions, 1)}
        return self.response(family, "intervention_receipt", visit, values, status)

    def withdraw(self, family, level):
        Withdrawal.objects.create(
            family=family,
            level=level,
            withdrawal_date=self.today,
            reason="PRIVATE-REASON said in confidence",
            recorded_by=self.world.manager,
        )

    def not_done(self, family):
        NotDone.objects.create(
            family=family,
            visit="month_18",
            form="primary_outcome",
            reason="PRIVATE-NOTE",
            recorded_by=self.world.manager,
        )

    def ineligible(self, family):
        ProtocolDeviation.objects.create(
            family=family,
            kind="eligibility",
            severity="major",
            occurred_on=self.today,
            description="PRIVATE-DEVIATION",
            recorded_by=self.world.manager,
        )


def known_trial(world) -> dict:
    m = Maker(world)
    buc, oxf = world.buc, world.oxf
    f = {}
    f["R1"] = m.randomised("RECONNECT", 650)
    m.primary(f["R1"])
    m.receipt(f["R1"], [3, 0, 0, 0, 0])
    f["R2"] = m.randomised("RECONNECT", 650)
    m.not_done(f["R2"])
    m.receipt(f["R2"], [0, 0, 0, 0, 0])
    m.withdraw(f["R2"], "intervention")
    f["R3"] = m.randomised("RECONNECT", 620)
    m.withdraw(f["R3"], "intervention")
    m.withdraw(f["R3"], "questionnaires")
    f["R4"] = m.randomised("RECONNECT", 100, site=oxf)
    m.ineligible(f["R4"])
    m.receipt(f["R4"], [0, 1, 0, 0, 0])
    f["R5"] = m.randomised("RECONNECT", 650)
    m.withdraw(f["R5"], "complete")
    f["U1"] = m.randomised("USUAL", 650)
    m.primary(f["U1"])
    f["U2"] = m.randomised("USUAL", 560)
    m.withdraw(f["U2"], "all_contact")
    f["U3"] = m.randomised("USUAL", 650)
    m.primary(f["U3"])
    m.receipt(f["U3"], [2, 0, 0, 0, 0], visit="month_12")
    m.withdraw(f["U3"], "complete")
    f["U4"] = m.randomised("USUAL", 30, site=oxf)
    m.primary(f["U4"], status="draft")
    m.receipt(f["U4"], [4, 0, 0, 0, 0], status="draft")

    def excluded(site, **kw):
        return m.screening(site, days_ago=50, **kw)

    excluded(buc, outcome="not_eligible", failed="known_to_social_care")
    excluded(oxf, outcome="not_eligible", failed="known_to_social_care")
    excluded(buc, outcome="not_eligible", failed="child_age")
    excluded(buc, outcome="not_eligible", failed="leaving_area")
    excluded(buc, outcome="declined", reason="not_interested")
    excluded(oxf, outcome="declined", reason="not_interested")
    excluded(buc, outcome="declined", reason="no_time")
    excluded(buc, outcome="other", reason="not_contactable")
    excluded(buc, outcome="other", reason="")
    excluded(buc, outcome="eligible")
    f["waiting"] = m.family(buc, referred_days_ago=50)
    f["live_only"] = m.randomised("USUAL", 5, mode="live")
    ScreeningRecord.objects.filter(pk=f["live_only"].screening_id).update(
        referral_date=m.today - timedelta(days=50)
    )
    return f


# --- The figures -----------------------------------------------------------------------------

ENROLMENT = {
    "assessed": 21,
    "excluded": 12,
    "not_eligible": 4,
    "not_eligible.known_to_social_care": 2,
    "not_eligible.child_age": 1,
    "not_eligible.leaving_area": 1,
    "declined": 3,
    "declined.not_interested": 2,
    "declined.no_time": 1,
    "other": 2,
    "other.not_contactable": 1,
    "other.-": 1,
    "undecided": 3,
    "randomised": 9,
}
BY_ARM = {
    "RECONNECT": {
        "allocated": 5,
        "received": 2,
        "not_received": 3,
        "ineligible": 1,
        "withdrawn": 3,
        "withdrawn.intervention": 1,
        "withdrawn.questionnaires": 1,
        "withdrawn.all_contact": 0,
        "withdrawn.complete": 1,
        "lost": 2,
        "analysed": 1,
        "not_analysed": 4,
        "not_due": 1,
        "missing": 3,
    },
    "USUAL": {
        "allocated": 4,
        "received": 3,
        "not_received": 1,
        "ineligible": 0,
        "withdrawn": 2,
        "withdrawn.intervention": 0,
        "withdrawn.questionnaires": 0,
        "withdrawn.all_contact": 1,
        "withdrawn.complete": 1,
        "lost": 0,
        "analysed": 2,
        "not_analysed": 2,
        "not_due": 2,
        "missing": 0,
    },
}
POOLED = {
    "allocated": 9,
    "ineligible": 1,
    "withdrawn": 5,
    "withdrawn.intervention": 1,
    "withdrawn.questionnaires": 1,
    "withdrawn.all_contact": 1,
    "withdrawn.complete": 2,
    "lost": 2,
    "analysed": 3,
    "not_analysed": 6,
    "not_due": 3,
    "missing": 3,
}


def scope_for(world, user, **filters):
    return report_scope(user, world.trial, on=today(), **filters)


@pytest.fixture
def known(world):
    return known_trial(world)


def test_every_number_by_arm_matches_the_hand_count(world, known):
    report = consort_of(scope_for(world, world.manager))
    expected = dict(ENROLMENT)
    for arm, figures in BY_ARM.items():
        expected |= {f"{node}.{arm}": n for node, n in figures.items()}
    assert report.by_arm and report.figures() == expected


def test_a_blinded_viewer_sees_every_number_pooled_and_no_receipt(world, known):
    report = consort_of(scope_for(world, world.stats_blind))
    assert not report.by_arm and report.arms == ()
    assert report.figures() == ENROLMENT | POOLED
    text = json.dumps(report.as_dict()) + report.svg + str(report.csv_rows())
    for word in ("RECONNECT", "USUAL", "Usual care", "received", "Received", "PRIVATE"):
        assert word not in text


@pytest.mark.parametrize("blinded", ["stats.blind", "assessor.buc"])
def test_blinded_totals_are_the_sums_over_the_arms_the_unblinded_see(world, known, blinded):
    site = "BUC" if blinded == "assessor.buc" else None
    pooled = consort_of(scope_for(world, world.users[blinded], site=site)).figures()
    split = consort_of(scope_for(world, world.manager, site=site)).figures()
    for node, count in pooled.items():
        parts = [n for key, n in split.items() if key.rsplit(".", 1)[0] == node]
        assert count == (split[node] if node in split else sum(parts)), node


def test_the_unblinded_statistician_and_a_site_coordinator_see_arms(world, known):
    assert consort_of(scope_for(world, world.stats_unblind)).figures()["lost.RECONNECT"] == 2
    at_buc = consort_of(scope_for(world, world.coord_buc)).figures()
    assert at_buc["allocated.RECONNECT"] == 4 and at_buc["allocated.USUAL"] == 3
    assert at_buc["assessed"] == 17 and at_buc["randomised"] == 7


def test_the_date_range_is_on_the_referral_date_and_families_follow_it(world, known):
    start = today() - timedelta(days=200)
    figures = consort_of(scope_for(world, world.manager, start=start)).figures()
    assert figures["assessed"] == 14 and figures["randomised"] == 2
    assert figures["allocated.RECONNECT"] == 1 and figures["allocated.USUAL"] == 1
    assert figures["not_due.RECONNECT"] == 1 and figures["ineligible.RECONNECT"] == 1
    end = today() - timedelta(days=500)
    figures = consort_of(scope_for(world, world.manager, end=end)).figures()
    assert figures["assessed"] == 7 and figures["excluded"] == 0


def test_the_boxes_add_up(world, known):
    figures = consort_of(scope_for(world, world.manager)).figures()
    groups = ("not_eligible", "declined", "other", "undecided")
    assert figures["excluded"] == sum(figures[g] for g in groups)
    assert figures["assessed"] == figures["excluded"] + figures["randomised"]
    for arm in ("RECONNECT", "USUAL"):
        allocated = figures[f"allocated.{arm}"]
        assert allocated == figures[f"received.{arm}"] + figures[f"not_received.{arm}"]
        assert allocated == figures[f"analysed.{arm}"] + figures[f"not_analysed.{arm}"]
        assert (
            figures[f"not_analysed.{arm}"] == figures[f"not_due.{arm}"] + figures[f"missing.{arm}"]
        )


def test_the_csv_rows_name_node_label_arm_and_count(world, known):
    pooled = consort_of(scope_for(world, world.stats_blind))
    assert pooled.csv_header() == ["node", "label", "arm", "count"]
    assert ["lost", "Lost to follow-up", "", 2] in pooled.csv_rows()
    split = consort_of(scope_for(world, world.manager))
    assert ["lost.RECONNECT", "Lost to follow-up", "RECONNECT", 2] in split.csv_rows()


# --- Listings --------------------------------------------------------------------------------


def listed(world, user, node, **filters):
    listing = listing_of(scope_for(world, user, **filters), node)
    return None if listing is None else listing.shaped(listing.rows)


def test_each_listing_holds_the_rows_its_number_counts(world, known):
    scope = scope_for(world, world.manager)
    for node, count in consort_of(scope).figures().items():
        listing = listing_of(scope, node)
        assert listing is not None and listing.rows.count() == count, node


def test_a_listing_names_families_and_reasons_in_words(world, known):
    lost = {r.family: r for r in listed(world, world.manager, "lost.RECONNECT")}
    assert set(lost) == {known["R2"].identifier, known["R3"].identifier}
    assert lost[known["R2"].identifier].reason == "Primary outcome marked not done"
    assert lost[known["R3"].identifier].reason.startswith("Primary outcome window closed on")
    assert lost[known["R2"].identifier].arm_label == "ReConnect"
    withdrawn = {r.family: r.reason for r in listed(world, world.manager, "withdrawn.RECONNECT")}
    assert withdrawn[known["R3"].identifier] == "Withdrew: From questionnaires"
    criteria = listed(world, world.manager, "not_eligible.known_to_social_care")
    assert [r.reason for r in criteria] == [
        "Not eligible: The family is known to children's social care"
    ] * 2
    waiting = {r.family for r in listed(world, world.manager, "undecided")}
    assert known["waiting"].identifier in waiting and known["live_only"].identifier in waiting


def test_a_blinded_listing_has_no_arm_and_no_free_text(world, known):
    rows = listed(world, world.stats_blind, "missing")
    assert {r.family for r in rows} == {known[k].identifier for k in ("R2", "R3", "R5")}
    assert all(r.arm_label == "" for r in rows)
    assert "PRIVATE" not in str(rows)


@pytest.mark.parametrize(
    "node", ["allocated.RECONNECT", "received.USUAL", "received", "not_received", "lost.USUAL"]
)
def test_a_node_split_by_arm_is_not_found_for_a_blinded_viewer(world, known, node):
    assert listed(world, world.stats_blind, node) is None


@pytest.mark.parametrize(
    "node",
    [
        "nonsense",
        "assessed.RECONNECT",
        "withdrawn.sometimes",
        "declined.NOT",
        "lost.PLACEBO",
        "randomised.USUAL",
        "not_eligible.a.b.c",
        "received",
    ],
)
def test_an_unknown_node_is_not_found(world, known, node):
    assert listed(world, world.manager, node) is None


# --- Pages, downloads and the API ------------------------------------------------------------


def test_the_page_draws_the_diagram_with_each_number_linked(world, known, page):
    response = page(world.manager).get("/reports/consort/?site=BUC")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="group"' in html and '<title id="consort-title">' in html
    assert 'href="/reports/consort/lost.RECONNECT/?site=BUC"' in html
    assert "/reports/consort.svg?site=BUC" in html and "/reports/consort.pdf?site=BUC" in html


def test_a_blinded_page_shows_no_arm(world, known, page):
    html = page(world.stats_blind).get("/reports/consort/").content.decode()
    assert "RECONNECT" not in html and "Usual care" not in html and "Received" not in html
    assert 'data-node="lost"' in html


def test_the_listing_page_is_paged_and_a_wrong_node_is_404(world, known, page):
    client = page(world.manager)
    response = client.get("/reports/consort/assessed/")
    assert response.status_code == 200
    html = response.content.decode()
    assert known["R1"].screening.identifier in html and 'data-testid="pager"' in html
    assert client.get("/reports/consort/lost.PLACEBO/").status_code == 404
    assert page(world.stats_blind).get("/reports/consort/lost.USUAL/").status_code == 404
    assert page(world.stats_blind).get("/reports/consort/lost/").status_code == 200


def test_the_svg_download_is_an_image_that_parses(world, known, page):
    response = page(world.stats_blind).get("/reports/consort.svg?site=BUC")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)
    assert root.get("role") == "group" and b"RECONNECT" not in response.content


def test_the_pdf_download_is_a_pdf(world, known, page):
    response = page(world.manager).get("/reports/consort.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_printed_diagram_has_the_same_figures_without_links(world, known):
    report = consort_of(scope_for(world, world.manager))
    printed, shown = report.svg_for_print, report.svg
    assert "<a " in shown and "<a " not in printed and "href" not in printed
    count = re.compile(r"n&#160;=&#160;(\d+)")
    assert count.findall(printed) == count.findall(shown)
    ElementTree.fromstring(printed)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/reports/consort/?from=yesterday", "from"),
        ("/reports/consort.svg?to=2026-13-01", "to"),
        ("/reports/consort/?site=XYZ", "site"),
        ("/reports/consort/lost/?from=2026-02-01&to=2026-01-01", "to"),
    ],
)
def test_a_bad_filter_on_a_page_is_400_naming_it(world, page, url, field):
    response = page(world.manager).get(url)
    assert response.status_code == 400
    assert f'href="#filter-{field}"' in response.content.decode()


def test_the_api_gives_the_same_figures_split_or_pooled(world, known, api):
    split = api(world.manager).get("/api/v1/reports/consort/").json()
    assert split["by_arm"] is True and [a["code"] for a in split["arms"]] == ["RECONNECT", "USUAL"]
    assert [s["key"] for s in split["stages"]] == [
        "enrolment",
        "allocation",
        "follow_up",
        "analysis",
    ]
    pooled = api(world.stats_blind).get("/api/v1/reports/consort/").json()
    assert pooled["by_arm"] is False and pooled["arms"] == []
    lost = pooled["stages"][2]["boxes"][0]
    assert (lost["node"], lost["count"], lost["arm"]) == ("lost", 2, "")


def test_the_api_csv_and_listing(world, known, api):
    response = api(world.stats_blind).get("/api/v1/reports/consort.csv")
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0] == "node,label,arm,count"
    assert "lost,Lost to follow-up,,2" in text and "RECONNECT" not in text
    body = api(world.stats_blind).get("/api/v1/reports/consort/missing/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert set(body["results"][0]) == {
        "screening",
        "family",
        "site",
        "referred_on",
        "randomised_on",
        "reason",
        "arm",
    }
    assert api(world.stats_blind).get("/api/v1/reports/consort/missing.USUAL/").status_code == 404


@pytest.mark.parametrize(
    "url", ["/api/v1/reports/consort/?from=soon", "/api/v1/reports/consort.csv?from=soon"]
)
def test_a_bad_filter_on_the_api_is_400_naming_it(world, api, url):
    response = api(world.manager).get(url)
    assert response.status_code == 400
    assert "from" in json.dumps(response.json())


# --- Bounded queries -------------------------------------------------------------------------


def _families(world, m, count):
    for i in range(count):
        family = m.randomised("RECONNECT" if i % 2 else "USUAL", 600 - i)
        m.primary(family)
        m.withdraw(family, "questionnaires")


def _queries(world, user, node=None) -> int:
    scope = scope_for(world, user)
    cache.clear()  # counts kept per site (sites.kept): count the diagram computed afresh
    with CaptureQueriesContext(connection) as captured:
        if node:
            listing = listing_of(scope, node)
            listing.shaped(list(listing.rows[:50]))
        else:
            assert consort_of(scope).svg
    return len(captured)


@pytest.mark.parametrize("user", ["manager", "stats.blind"])
def test_the_report_costs_the_same_queries_for_3_and_30_families(world, user):
    m = Maker(world)
    _families(world, m, 3)
    few = _queries(world, world.users[user]), _queries(world, world.users[user], "withdrawn")
    _families(world, m, 27)
    many = _queries(world, world.users[user]), _queries(world, world.users[user], "withdrawn")
    assert few == many

"""The primary outcome so far, against hand counts on the known trial: by arm for the
unblinded statistician, refused (403, in plain words) to everyone else on the page and the
API; bounded queries; a bad filter answered 400."""

from datetime import timedelta
from math import sqrt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.clock import today
from core.errors import NotPermitted
from reports.outcome import outcome_of
from reports.scope import report_scope
from tests.reports.test_balance import POOLED_VIEWERS, _grow, build_known

VISIT = "month_18"


def outcome(known, key, living, *, status="complete"):
    values = {
        "living_with_birth_parent": living,
        "source": "la_records",
        "date_verified": today().isoformat(),
    }
    if not living:
        values["placement_type"] = "foster"
    return known.respond(key, "primary_outcome", VISIT, values, status=status)


@pytest.fixture
def known(world):
    known = build_known(world)
    outcome(known, ("BUC", 1), True)  # ReConnect: 2 yes of 3
    outcome(known, ("BUC", 3), False)
    outcome(known, ("OXF", 2), True)
    outcome(known, ("OXF", 1), False)  # usual care: 0 yes of 1
    outcome(known, ("OXF", 3), True, status="draft")  # not analysed
    outcome(known, ("BUC", 4), True)  # never randomised
    known.respond(("BUC", 2), "primary_outcome", "month_12", {"living_with_birth_parent": True})
    return known


def _scope(world, name="stats.unblind", **filters):
    return report_scope(world.users[name], world.trial, **filters)


def test_the_outcome_matches_hand_counts_by_arm(world, known):
    report = outcome_of(_scope(world))
    rows = [(c.key, c.randomised, c.analysed, c.yes, c.no) for c in report.columns]
    assert rows == [("all", 6, 4, 2, 2), ("RECONNECT", 3, 3, 2, 1), ("USUAL", 3, 1, 0, 1)]
    assert [c.proportion for c in report.columns] == [0.5, pytest.approx(2 / 3), 0.0]
    assert report.question == "Is the child living with a birth parent?"
    (difference,) = report.comparisons
    assert (difference.first, difference.second) == ("RECONNECT", "USUAL")
    half = 1.959963984540054 * sqrt((2 / 3) * (1 / 3) / 3 + 0)
    assert difference.estimate == pytest.approx(2 / 3)
    assert (difference.low, difference.high) == (
        pytest.approx(2 / 3 - half),
        pytest.approx(2 / 3 + half),
    )
    assert "not the trial's analysis" in report.note


def test_the_pooled_totals_equal_the_sums_over_the_arms(world, known):
    everyone, *arms = outcome_of(_scope(world)).columns
    for name in ("randomised", "analysed", "yes", "no"):
        assert getattr(everyone, name) == sum(getattr(arm, name) for arm in arms)


def test_no_difference_without_an_outcome_in_each_arm(world, known):
    report = outcome_of(_scope(world, end=today() - timedelta(days=100)))  # OXF only
    assert [(c.analysed, c.yes) for c in report.columns] == [(2, 1), (1, 1), (1, 0)]
    assert len(report.comparisons) == 1
    only_buc = outcome_of(_scope(world, site="BUC"))
    assert [c.analysed for c in only_buc.columns] == [2, 2, 0]
    assert only_buc.comparisons == ()


@pytest.mark.parametrize("name", POOLED_VIEWERS)
def test_everyone_else_is_refused(world, known, name):
    with pytest.raises(NotPermitted, match="unblinded statistician"):
        outcome_of(_scope(world, name))


def _client(world, name):
    client = APIClient()
    client.force_login(world.users[name], backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("name", POOLED_VIEWERS)
def test_the_page_and_api_refuse_everyone_else_in_plain_words(world, known, name):
    client = _client(world, name)
    page = client.get(reverse("report-outcome"))
    assert page.status_code == 403
    assert "Only the unblinded statistician" in page.content.decode()
    for url in (reverse("api-report-outcome"), reverse("api-report-outcome-csv")):
        api = client.get(url)
        assert api.status_code == 403
        assert api.json()["error"]["message"].startswith("Only the unblinded statistician")


def test_the_unblinded_statistician_gets_the_page_api_and_csv(world, known):
    client = _client(world, "stats.unblind")
    page = client.get(reverse("report-outcome"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "ReConnect minus Usual care: 0.667" in text and "not the trial" in text
    body = client.get(reverse("api-report-outcome")).json()
    assert [(c["key"], c["yes"], c["proportion"]) for c in body["columns"]] == [
        ("all", 2, 0.5),
        ("RECONNECT", 2, 0.6667),
        ("USUAL", 0, 0.0),
    ]
    csv = client.get(reverse("api-report-outcome-csv"))
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0] == "measure,column,value"
    assert "analysed,RECONNECT,3" in lines and "yes,all,2" in lines


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured)


def test_queries_are_the_same_for_few_and_many_families(world, known):
    scope = _scope(world)
    few = _queries(lambda: outcome_of(scope))
    _grow(world, known, 27)
    for key in [k for k in known.families if k[0] == "OXF" and k[1] >= 100]:
        outcome(known, key, key[1] % 2 == 0)
    assert outcome_of(scope).columns[0].analysed == 31
    assert _queries(lambda: outcome_of(scope)) == few <= 5


def test_a_bad_filter_is_refused_naming_it(world, known):
    client = _client(world, "stats.unblind")
    page = client.get(reverse("report-outcome"), {"from": "31/01/2026"})
    assert page.status_code == 400 and "is not a date" in page.content.decode()
    api = client.get(reverse("api-report-outcome"), {"site": "NOPE"})
    assert api.status_code == 400 and "site" in api.json()["error"]["fields"]

"""The serious adverse events summary against hand counts on the known trial: pooled (with
no relatedness or expectedness) for everyone, by arm with both for the unblinded statistician
only; bounded queries; a bad filter answered 400."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.clock import today
from reports.adverse_events import adverse_events_of
from reports.scope import report_scope
from tests.reports.test_balance import ARM_WORDS, POOLED_VIEWERS, build_known

EVENT = {
    "reported_on": None,
    "person": "parent",
    "safeguarding_referral": False,
    "description": "In hospital overnight.",
}


def sae(known, key, number, *, kind, seriousness, relatedness, expectedness, outcome, days_ago):
    on = (today() - timedelta(days=days_ago)).isoformat()
    values = {
        **EVENT,
        "event_date": on,
        "reported_on": on,
        "kind": kind,
        "relatedness": relatedness,
        "expectedness": expectedness,
        "outcome": outcome,
    }
    if seriousness:
        values["seriousness"] = seriousness
    return known.respond(key, "sae", "", values, number=number)


@pytest.fixture
def known(world):
    known = build_known(world)
    # ReConnect (BUC-1): two events; usual care (OXF-1): one.
    sae(
        known,
        ("BUC", 1),
        1,
        kind="sae",
        seriousness=["hospitalisation", "life_threatening"],
        relatedness="unrelated",
        expectedness="expected",
        outcome="resolved",
        days_ago=5,
    )
    sae(
        known,
        ("BUC", 1),
        2,
        kind="safeguarding",
        seriousness=None,
        relatedness="possible",
        expectedness="unexpected",
        outcome="ongoing",
        days_ago=50,
    )
    sae(
        known,
        ("OXF", 1),
        1,
        kind="sae",
        seriousness=["hospitalisation"],
        relatedness="unlikely",
        expectedness="expected",
        outcome="resolving",
        days_ago=5,
    )
    # Not counted: a family never randomised, and a draft.
    sae(
        known,
        ("BUC", 4),
        1,
        kind="sae",
        seriousness=["death"],
        relatedness="unrelated",
        expectedness="expected",
        outcome="fatal",
        days_ago=5,
    )
    draft = sae(
        known,
        ("OXF", 2),
        1,
        kind="sae",
        seriousness=["death"],
        relatedness="definite",
        expectedness="unexpected",
        outcome="fatal",
        days_ago=5,
    )
    draft.status = "draft"
    draft.save()
    return known  # fmt: skip


def _scope(world, name="stats.unblind", **filters):
    return report_scope(world.users[name], world.trial, **filters)


def _counts(report, group, column=0):
    found = next(g for g in report.groups if g.key == group)
    return {lv.key: lv.cells[column].count for lv in found.levels if lv.cells[column].count}


def test_the_closed_summary_matches_hand_counts_by_arm(world, known):
    report = adverse_events_of(_scope(world))
    assert report.by_arm
    assert [c.key for c in report.columns] == ["all", "RECONNECT", "USUAL"]
    assert report.events == (3, 2, 1)
    assert report.families == (2, 1, 1)
    assert [c.families for c in report.columns] == [6, 3, 3]
    assert [g.key for g in report.groups] == [
        "kind",
        "seriousness",
        "outcome",
        "relatedness",
        "expectedness",
    ]
    assert _counts(report, "kind") == {"sae": 2, "safeguarding": 1}
    assert _counts(report, "seriousness") == {"hospitalisation": 2, "life_threatening": 1}
    assert _counts(report, "seriousness", 1) == {"hospitalisation": 1, "life_threatening": 1}
    assert _counts(report, "seriousness", 2) == {"hospitalisation": 1}
    assert _counts(report, "outcome", 1) == {"resolved": 1, "ongoing": 1}
    assert _counts(report, "relatedness", 1) == {"unrelated": 1, "possible": 1}
    assert _counts(report, "relatedness", 2) == {"unlikely": 1}
    assert _counts(report, "expectedness") == {"expected": 2, "unexpected": 1}
    hospital = next(g for g in report.groups if g.key == "seriousness").levels[2]
    assert hospital.label == "Hospitalisation or its prolongation"
    assert [c.percent for c in hospital.cells] == [pytest.approx(66.7), 50.0, 100.0]


@pytest.mark.parametrize("name", POOLED_VIEWERS)
def test_everyone_else_sees_it_pooled_without_relatedness(world, known, name):
    closed, pooled = adverse_events_of(_scope(world)), adverse_events_of(_scope(world, name))
    assert not pooled.by_arm and [c.key for c in pooled.columns] == ["all"]
    assert [g.key for g in pooled.groups] == ["kind", "seriousness", "outcome"]
    if name in ("coord.buc", "assessor.buc"):  # BUC staff see BUC's events only
        assert (pooled.events, pooled.families) == ((2,), (1,))
        return
    assert pooled.events == (sum(closed.events[1:]),) == (closed.events[0],)
    assert pooled.families == (closed.families[0],)
    for group in pooled.groups:
        split = next(g for g in closed.groups if g.key == group.key)
        for level, level_split in zip(group.levels, split.levels, strict=True):
            assert level.cells[0] == level_split.cells[0]
            assert level.cells[0].count == sum(c.count for c in level_split.cells[1:])


def test_the_date_range_is_of_the_event(world, known):
    report = adverse_events_of(_scope(world, start=today() - timedelta(days=10)))
    assert report.events == (2, 1, 1)
    assert _counts(report, "kind") == {"sae": 2}


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured)


def test_queries_are_the_same_for_few_and_many_events(world, known):
    closed, pooled = _scope(world), _scope(world, "stats.blind")
    few = (_queries(lambda: adverse_events_of(closed)), _queries(lambda: adverse_events_of(pooled)))
    answers = {"relatedness": "unrelated", "expectedness": "expected", "outcome": "resolved"}
    for n in range(3, 30):
        sae(known, ("OXF", 2), n, kind="sae", seriousness=["death"], days_ago=1, **answers)
    assert adverse_events_of(closed).events[0] == 30
    many = (
        _queries(lambda: adverse_events_of(closed)),
        _queries(lambda: adverse_events_of(pooled)),
    )
    assert many == few and few[0] <= 4


def _client(world, name):
    client = APIClient()
    client.force_login(world.users[name], backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("name", POOLED_VIEWERS)
def test_the_pooled_page_api_and_csv_name_no_arm_nor_relatedness(world, known, name):
    client = _client(world, name)
    page = client.get(reverse("report-safety"))
    api = client.get(reverse("api-report-safety"))
    csv = client.get(reverse("api-report-safety-csv"))
    assert (page.status_code, api.status_code, csv.status_code) == (200, 200, 200)
    csv_text = b"".join(csv.streaming_content).decode()
    for text in (page.content.decode(), api.content.decode(), csv_text):
        assert not any(word in text for word in ARM_WORDS)
        assert "Related to the trial" not in text and "Unexpected" not in text
    assert "Hospitalisation or its prolongation" in page.content.decode()
    assert api.json()["by_arm"] is False


def test_the_unblinded_statistician_gets_it_by_arm_everywhere(world, known):
    client = _client(world, "stats.unblind")
    page = client.get(reverse("report-safety")).content.decode()
    assert "Usual care" in page and "Related to the trial" in page
    body = client.get(reverse("api-report-safety")).json()
    assert [(c["key"], c["events"]) for c in body["columns"]] == [
        ("all", 3),
        ("RECONNECT", 2),
        ("USUAL", 1),
    ]
    csv = client.get(reverse("api-report-safety-csv"))
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0] == "measure,level,column,value"
    assert "Related to the trial's intervention,Possible,RECONNECT,1" in lines
    assert "Families with at least one event,,USUAL,1" in lines


def test_a_bad_filter_is_refused_naming_it(world, known):
    client = _client(world, "manager")
    page = client.get(reverse("report-safety"), {"to": "yesterday"})
    assert page.status_code == 400 and "is not a date" in page.content.decode()
    api = client.get(reverse("api-report-safety"), {"from": "2026-02-31"})
    assert api.status_code == 400 and "from" in api.json()["error"]["fields"]

"""Baseline balance and allocations by factor level, against hand counts on a known trial:
pooled for everyone, by arm too for the unblinded statistician only; bounded queries; a bad
filter answered 400 naming it."""

import statistics
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.clock import today
from crf.models import Response
from randomisation.models import Allocation
from reports.balance import balance_of, factor_levels_of
from reports.scope import report_scope
from tests.access import consent_v1
from tests.crf.conftest import load_forms
from tests.randomisation.bulk import bulk_families

ARM_WORDS = ("RECONNECT", "USUAL", "Usual care")
POOLED_VIEWERS = ("manager", "coord.buc", "assessor.buc", "stats.blind")

# The known trial: (site, sequence): arm, and baseline demographics (None: no form).
ARMS = {
    ("BUC", 1): "RECONNECT",
    ("BUC", 2): "USUAL",
    ("BUC", 3): "RECONNECT",
    ("OXF", 1): "USUAL",
    ("OXF", 2): "RECONNECT",
    ("OXF", 3): "USUAL",
}
DEMOGRAPHICS = {
    ("BUC", 1): {"parent_age_years": 20, "child_age_months": 3, "ethnicity": "white",
                 "interpreter": False},
    ("BUC", 2): {"parent_age_years": 30, "child_age_months": 10, "ethnicity": "asian",
                 "interpreter": True},
    ("BUC", 3): {"parent_age_years": 40, "child_unborn": True, "ethnicity": "white",
                 "interpreter": False},
    ("OXF", 1): {"parent_age_years": 25, "child_age_months": 5, "ethnicity": "black",
                 "interpreter": False},
    ("OXF", 2): {"parent_age_years": 35, "child_age_months": 8, "ethnicity": "white",
                 "interpreter": True},
}  # fmt: skip
PSI_TOTAL = {("BUC", 1): "100", ("OXF", 1): "80", ("BUC", 2): None}
AGE_BANDS = {("BUC", 1): "under_6m", ("BUC", 3): "6_to_24m", ("OXF", 2): "under_6m",
             ("BUC", 2): "6_to_24m", ("OXF", 1): "under_6m", ("OXF", 3): "6_to_24m"}  # fmt: skip


class Known:
    """The known trial's families by (site, sequence), with helpers to add rows."""

    def __init__(self, world):
        self.world = world
        self.forms = load_forms(world)
        version = consent_v1(world)
        self.families = {}
        for site in (world.buc, world.oxf):
            for family in bulk_families(world, site, version, 5):
                self.families[(site.code, family.sequence)] = family

    def allocate(self, key, arm, *, mode=None, days_ago=0):
        family = self.families[key]
        allocation = Allocation.objects.create(
            family=family,
            mode=mode or self.world.trial.randomisation_mode,
            arm=arm,
            factor_values={
                "site": key[0],
                "legal_status": family.legal_status,
                "age_band": AGE_BANDS.get(key, "under_6m"),
            },
            randomised_by=self.world.coord_buc,
        )
        if days_ago:
            Allocation.objects.filter(pk=allocation.pk).update(
                randomised_at=timezone.now() - timedelta(days=days_ago)
            )
        return allocation

    def respond(self, key, form, visit, values, *, scores=None, status="complete", number=1):
        family = self.families[key]
        return Response.objects.create(
            family=family,
            definition=self.forms[form],
            form=form,
            visit=visit,
            number=number,
            status=status,
            values=values,
            scores=scores or {},
            dated_on=values.get("event_date") or today(),
            entered_by=self.world.coord_buc,
            updated_by=self.world.coord_buc,
        )


def build_known(world) -> Known:
    known = Known(world)
    for key, arm in ARMS.items():
        known.allocate(key, arm, days_ago=200 if key[0] == "OXF" else 0)
    for key, values in DEMOGRAPHICS.items():
        known.respond(key, "demographics", "baseline", values)
    # Not counted: a draft, a family not randomised, one randomised in the other mode.
    known.respond(("OXF", 3), "demographics", "baseline", {"parent_age_years": 99}, status="draft")
    known.respond(("BUC", 4), "demographics", "baseline", {"parent_age_years": 60})
    other = "live" if world.trial.randomisation_mode == "test" else "test"
    known.allocate(("BUC", 5), "USUAL", mode=other)
    known.respond(("BUC", 5), "demographics", "baseline", {"parent_age_years": 65})
    for key, total in PSI_TOTAL.items():
        known.respond(key, "psi4sf", "baseline", {}, scores={"total": {"value": total}})
    return known


def _scope(world, name="stats.unblind", **filters):
    return report_scope(world.users[name], world.trial, **filters)


def _row(balance, source):
    return next(c for c in balance.characteristics if c.source == source)


def _summary(row, column):
    return next(s for s in row.summaries if s.column == column)


def _counts(row, column):
    index = [c.column for c in row.levels[0].cells].index(column)
    counts = {lv.key: lv.cells[index].count for lv in row.levels}
    return counts, row.missing[index]


@pytest.fixture
def known(world):
    return build_known(world)


@pytest.mark.requirement("RND-2")
def test_the_closed_table_matches_hand_counts_by_arm_and_for_all(world, known):
    balance = balance_of(_scope(world))
    assert balance.by_arm
    assert [(c.key, c.label, c.families) for c in balance.columns] == [
        ("all", "All families", 6),
        ("RECONNECT", "ReConnect", 3),
        ("USUAL", "Usual care", 3),
    ]
    legal = _row(balance, "family.legal_status")
    assert _counts(legal, "all") == ({"cp_plan": 4, "pre_proceedings": 2}, 0)
    assert _counts(legal, "RECONNECT") == ({"cp_plan": 2, "pre_proceedings": 1}, 0)
    assert _counts(legal, "USUAL") == ({"cp_plan": 2, "pre_proceedings": 1}, 0)
    assert [lv.label for lv in legal.levels] == [
        "Child protection plan",
        "Pre-proceedings (Public Law Outline)",
    ]

    age = _row(balance, "demographics.parent_age_years")
    everyone = _summary(age, "all")
    assert (everyone.n, everyone.missing) == (5, 1)
    assert everyone.mean == 30
    assert everyone.median == 30 and (everyone.q1, everyone.q3) == (25, 35)
    assert everyone.sd == pytest.approx(statistics.stdev([20, 30, 40, 25, 35]), abs=1e-3)
    reconnect = _summary(age, "RECONNECT")
    assert (reconnect.n, reconnect.missing, reconnect.median) == (3, 0, 35)
    assert reconnect.mean == pytest.approx(95 / 3, abs=1e-3)
    assert (reconnect.q1, reconnect.q3) == (27.5, 37.5)
    usual = _summary(age, "USUAL")
    assert (usual.n, usual.missing, usual.mean, usual.median) == (2, 1, 27.5, 27.5)

    child = _row(balance, "demographics.child_age_months")  # the unborn child is missing
    assert [(s.column, s.n, s.missing) for s in child.summaries] == [
        ("all", 4, 2),
        ("RECONNECT", 2, 1),
        ("USUAL", 2, 1),
    ]

    ethnicity = _row(balance, "demographics.ethnicity")
    counts, missing = _counts(ethnicity, "all")
    assert (counts["white"], counts["asian"], counts["black"], counts["mixed"], missing) == (
        3,
        1,
        1,
        0,
        1,
    )
    white = next(lv for lv in ethnicity.levels if lv.key == "white")
    assert white.label == "White"
    assert [c.percent for c in white.cells] == [60.0, 100.0, 0.0]
    assert _counts(ethnicity, "USUAL")[1] == 1

    interpreter = _row(balance, "demographics.interpreter")
    assert [lv.label for lv in interpreter.levels] == ["Yes", "No"]
    assert _counts(interpreter, "RECONNECT") == ({"yes": 1, "no": 2}, 0)
    assert _counts(interpreter, "USUAL") == ({"yes": 1, "no": 1}, 1)

    psi = _row(balance, "psi4sf.score.total")  # BUC-2's score is uncomputed: missing
    assert [(s.column, s.n, s.mean, s.missing) for s in psi.summaries] == [
        ("all", 2, 90, 4),
        ("RECONNECT", 1, 100, 2),
        ("USUAL", 1, 80, 2),
    ]
    core10 = _row(balance, "core10.score.total")
    assert [(s.n, s.mean, s.missing) for s in core10.summaries] == [
        (0, None, 6),
        (0, None, 3),
        (0, None, 3),
    ]


def test_pooled_totals_equal_the_sums_over_the_arms(world, known):
    closed, pooled = balance_of(_scope(world)), balance_of(_scope(world, "stats.blind"))
    assert [c.key for c in pooled.columns] == ["all"]
    for source in [c.source for c in closed.characteristics]:
        split, together = _row(closed, source), _row(pooled, source)
        if split.kind == "number":
            assert _summary(together, "all") == _summary(split, "all")
            assert _summary(split, "all").n == sum(s.n for s in split.summaries[1:])
        else:
            for lv_split, lv_pooled in zip(split.levels, together.levels, strict=True):
                assert lv_pooled.cells[0] == lv_split.cells[0]
                assert lv_split.cells[0].count == sum(c.count for c in lv_split.cells[1:])
            assert together.missing[0] == split.missing[0] == sum(split.missing[1:])


@pytest.mark.parametrize("name", POOLED_VIEWERS)
def test_everyone_else_sees_the_pooled_table_only(world, known, name):
    scope = _scope(world, name)
    balance = balance_of(scope)
    assert not balance.by_arm and [c.key for c in balance.columns] == ["all"]
    families = 3 if name in ("coord.buc", "assessor.buc") else 6  # BUC staff see BUC
    assert balance.columns[0].families == families
    with pytest.raises(Exception, match="unblinded statistician"):
        factor_levels_of(scope)


def test_the_date_range_is_of_randomisation(world, known):
    balance = balance_of(_scope(world, end=today() - timedelta(days=100)))
    assert [c.families for c in balance.columns] == [3, 1, 2]  # OXF's, randomised earlier
    age = _row(balance, "demographics.parent_age_years")
    assert [(s.n, s.mean) for s in age.summaries] == [(2, 30), (1, 35), (1, 25)]
    only_buc = balance_of(_scope(world, site="BUC"))
    assert [c.families for c in only_buc.columns] == [3, 2, 1]


def test_allocations_by_factor_level_match_hand_counts(world, known):
    levels = factor_levels_of(_scope(world))
    tables = {f.key: {lv.key: (lv.label, lv.counts) for lv in f.levels} for f in levels.factors}
    assert [c.key for c in levels.columns] == ["all", "RECONNECT", "USUAL"]
    assert tables["site"] == {
        "BUC": ("BUC", (3, 2, 1)),
        "MKN": ("MKN", (0, 0, 0)),  # the trial's third site, not recruiting yet
        "OXF": ("OXF", (3, 1, 2)),
    }
    assert tables["legal_status"] == {
        "cp_plan": ("Child protection plan", (4, 2, 2)),
        "pre_proceedings": ("Pre-proceedings (Public Law Outline)", (2, 1, 1)),
    }
    assert tables["age_band"] == {
        "under_6m": ("Unborn or under 6 months", (3, 2, 1)),
        "6_to_24m": ("6 to 24 months", (3, 1, 2)),
    }


def _grow(world, known, count):
    """`count` more randomised families at OXF, each with its baseline forms."""
    families = bulk_families(world, world.oxf, consent_v1(world), count, start=100)
    for n, family in enumerate(families):
        key = ("OXF", family.sequence)
        known.families[key] = family
        known.allocate(key, "RECONNECT" if n % 2 else "USUAL")
        known.respond(key, "demographics", "baseline", DEMOGRAPHICS[("BUC", 1)])
        known.respond(key, "psi4sf", "baseline", {}, scores={"total": {"value": "90"}})


def _queries(callable_) -> int:
    cache.clear()  # counts kept per site (sites.kept): count the report computed afresh
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured)


def test_queries_are_the_same_for_few_and_many_families(world, known):
    closed, pooled = _scope(world), _scope(world, "stats.blind")
    few = (_queries(lambda: balance_of(closed)), _queries(lambda: balance_of(pooled)))
    few_levels = _queries(lambda: factor_levels_of(closed))
    _grow(world, known, 27)
    assert balance_of(closed).columns[0].families == 33
    many = (_queries(lambda: balance_of(closed)), _queries(lambda: balance_of(pooled)))
    assert many == few
    assert _queries(lambda: factor_levels_of(closed)) == few_levels
    assert few[0] <= 10


def _client(world, name):
    client = APIClient()
    client.force_login(world.users[name], backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_the_page_shows_the_arms_to_the_unblinded_statistician(world, known):
    response = _client(world, "stats.unblind").get(reverse("report-balance"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Usual care" in text and "Allocations by stratification factor" in text
    assert "30.0 (7.9)" in text  # parent's age, all families: mean (SD)


@pytest.mark.parametrize("name", POOLED_VIEWERS)
def test_the_pooled_page_api_and_csv_name_no_arm(world, known, name):
    client = _client(world, name)
    page = client.get(reverse("report-balance"))
    api = client.get(reverse("api-report-balance"))
    csv = client.get(reverse("api-report-balance-csv"))
    assert (page.status_code, api.status_code, csv.status_code) == (200, 200, 200)
    csv_text = b"".join(csv.streaming_content).decode()
    assert api.json()["factor_levels"] is None
    for text in (page.content.decode(), api.content.decode(), csv_text):
        assert not any(word in text for word in ARM_WORDS)
    assert "Allocations by stratification factor" not in page.content.decode()
    assert "ReConnect" not in api.content.decode() + csv_text


def test_the_api_and_csv_give_the_closed_table(world, known):
    client = _client(world, "stats.unblind")
    body = client.get(reverse("api-report-balance")).json()
    assert body["by_arm"] is True
    assert [c["key"] for c in body["columns"]] == ["all", "RECONNECT", "USUAL"]
    site = body["factor_levels"]["factors"][0]
    assert site["levels"][0]["counts"][1] == {"column": "RECONNECT", "count": 2}
    csv = client.get(reverse("api-report-balance-csv"))
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0] == "characteristic,level or statistic,column,value"
    assert "Legal status at randomisation,Child protection plan,USUAL,2" in lines
    assert "Parent's age (years),missing,all,1" in lines


def test_a_bad_filter_is_refused_naming_it(world, known):
    client = _client(world, "manager")
    page = client.get(reverse("report-balance"), {"from": "soon"})
    assert page.status_code == 400 and "is not a date" in page.content.decode()
    api = client.get(reverse("api-report-balance"), {"to": "2026-13-40"})
    assert api.status_code == 400 and "to" in api.json()["error"]["fields"]
    csv = client.get(reverse("api-report-balance-csv"), {"site": "ZZZ"})
    assert csv.status_code == 400 and "site" in csv.json()["error"]["fields"]

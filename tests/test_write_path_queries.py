"""What one randomisation and one eCRF submission through the API cost in queries. Each read
is made once: a check that reads again what another has read (the duty, the mode, the trial,
the ledger's role, the response read back) puts a count over its ceiling and a statement
twice in the list. Counted as Django runs them inside a test's transaction (with the durable
block's SAVEPOINT and RELEASE), on SQLite and PostgreSQL alike."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.channels import Channel
from core.clock import today
from randomisation.models import Allocation
from randomisation.services import family_randomise
from tests.access import crf_entry_body, crf_family, family_at, sealed_test_list
from tests.crf.conftest import enter_baseline, load_forms

pytestmark = pytest.mark.django_db

# Ceilings with the ledger sealed inline (SQLite, and the suite's default): each with the count
# before repeated reads were removed. tests/postgres/test_write_path_queries_batched.py counts
# the same paths as production runs them.
RANDOMISE = 17  # was 30
RANDOMISE_THROUGH_API = 18  # was 32
SUBMIT_THROUGH_API = 14  # was 25


def _ready_to_randomise(world):
    load_forms(world)
    family = family_at(world, "BUC")
    enter_baseline(world, family)
    sealed_test_list(world)
    return family


def _statements(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


def read_twice(statements: list[str]) -> list[str]:
    reads = Counter(sql for sql in statements if sql.lstrip().upper().startswith("SELECT"))
    return [sql for sql, times in reads.items() if times > 1]


def randomisation_statements(world) -> list[str]:
    family = _ready_to_randomise(world)
    with CaptureQueriesContext(connection) as captured:
        allocation = family_randomise(family=family, actor=world.coord_buc, channel=Channel.API)
    assert Allocation.objects.get(family=family) == allocation
    return _statements(captured)


def randomisation_through_the_api_statements(world, api) -> list[str]:
    family = _ready_to_randomise(world)
    client = api(world.coord_buc)
    with CaptureQueriesContext(connection) as captured:
        answer = client.post(f"/api/v1/families/{family.pk}/randomise/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["arm"] == Allocation.objects.get(family=family).arm
    return _statements(captured)


def submission_through_the_api_statements(world, api) -> list[str]:
    body = crf_entry_body(world)
    family = crf_family(world)
    client = api(world.assessor_buc)
    with CaptureQueriesContext(connection) as captured:
        answer = client.post(f"/api/v1/families/{family.pk}/responses/", body, format="json")
    assert answer.status_code == 201, answer.content
    entered = answer.json()
    assert entered["in_window"] is True and entered["open_queries"] == 0
    return _statements(captured)


def within(statements: list[str], ceiling: int) -> None:
    assert len(statements) <= ceiling, "\n".join(statements)
    assert read_twice(statements) == []


def test_a_randomisation_reads_each_thing_once(world):
    within(randomisation_statements(world), RANDOMISE)


def test_a_randomisation_through_the_api_reads_each_thing_once(world, api):
    within(randomisation_through_the_api_statements(world, api), RANDOMISE_THROUGH_API)


def test_a_form_submitted_through_the_api_reads_each_thing_once(world, api):
    within(submission_through_the_api_statements(world, api), SUBMIT_THROUGH_API)


def test_a_form_dated_outside_its_window_is_answered_with_its_query(world, api):
    body = crf_entry_body(world)
    body["values"]["completed_on"] = (today() - timedelta(days=60)).isoformat()
    family = crf_family(world)
    client = api(world.assessor_buc)
    answer = client.post(f"/api/v1/families/{family.pk}/responses/", body, format="json")
    assert answer.status_code == 201, answer.content
    entered = answer.json()
    assert entered["in_window"] is False and entered["open_queries"] == 1
    again = client.get(f"/api/v1/families/{family.pk}/responses/{entered['id']}/").json()
    assert again["open_queries"] == 1

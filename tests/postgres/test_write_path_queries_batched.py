"""The two write paths' queries as production runs them: on PostgreSQL with the ledger
sealed in batches, where a write's ledger event is one INSERT (the chain head is neither
read nor updated by the writer). The paths are those of tests/test_write_path_queries.py."""

import pytest
from django.test import override_settings

from audit.sealing import batched_from_here
from tests.test_write_path_queries import (
    randomisation_statements,
    randomisation_through_the_api_statements,
    submission_through_the_api_statements,
    within,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Each with the count before (30, 32 and 25 statements, the ledger's three among them).
RANDOMISE = 15
RANDOMISE_THROUGH_API = 16
SUBMIT_THROUGH_API = 12


@pytest.fixture
def batched(world):
    batched_from_here()
    with override_settings(LEDGER_SEALING="batched"):
        yield world


def ledger_part(statements: list[str]) -> list[str]:
    return [s for s in statements if "audit_" in s.split("(")[0] or "audit_chainhead" in s]


def test_a_randomisation_writes_its_event_with_one_statement(batched):
    statements = randomisation_statements(batched)
    within(statements, RANDOMISE)
    (event,) = ledger_part(statements)
    assert event.startswith('INSERT INTO "audit_auditevent"')


def test_a_randomisation_through_the_api(batched, api):
    statements = randomisation_through_the_api_statements(batched, api)
    within(statements, RANDOMISE_THROUGH_API)
    assert len(ledger_part(statements)) == 1


def test_a_form_submitted_through_the_api(batched, api):
    statements = submission_through_the_api_statements(batched, api)
    within(statements, SUBMIT_THROUGH_API)
    assert len(ledger_part(statements)) == 1

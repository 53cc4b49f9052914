"""Concurrent form entry on PostgreSQL: one response per slot, one winner per revision,
and any-time forms numbered without gaps or duplicates."""

import pytest

from core.channels import Channel
from core.clock import today
from core.errors import Conflict
from crf.entry import Saved, response_submit, response_update
from crf.models import Response
from demo.answers import answers_for
from safety.models import SafetyEvent

from ..crf.conftest import enter, load_forms, randomised
from ..safety.conftest import report
from .test_concurrency import assert_chain_unbroken, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_clients_entering_one_form_at_one_visit_make_one_response(world):
    family = randomised(world, days_ago=182)
    values = answers_for(load_forms(world)["core10"].spec, today())
    results = race(
        8,
        lambda i: response_submit(
            family=family,
            form="core10",
            visit="month_6",
            values=values,
            actor=world.assessor_buc if i % 2 else world.coord_buc,
            channel=Channel.API,
        ),
    )
    saved = [r for r in results if isinstance(r, Saved)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(saved) == 1 and len(refused) == 7, results
    assert Response.objects.filter(family=family, visit="month_6", form="core10").count() == 1
    assert_chain_unbroken()


def test_eight_changes_from_one_revision_leave_one_winner(world):
    family = randomised(world, days_ago=182)
    response = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    results = race(
        8,
        lambda i: response_update(
            response=response,
            values={"item_1": i % 5},
            replace=False,
            reason=f"client {i}",
            revision=1,
            actor=world.assessor_buc,
            channel=Channel.API,
        ),
    )
    winners = [r for r in results if isinstance(r, Saved)]
    losers = [r for r in results if isinstance(r, Conflict)]
    # A client whose value equals the stored one changes nothing and is not refused.
    assert len(winners) + len(losers) == 8 and len([w for w in winners if w.changed]) == 1
    assert all(r.field == "revision" for r in losers)
    response.refresh_from_db()
    assert response.revision == 2
    assert_chain_unbroken()


def test_concurrent_any_time_reports_are_numbered_one_to_n(world):
    family = randomised(world, days_ago=30)
    results = race(8, lambda i: report(world, family))
    assert all(isinstance(r, SafetyEvent) for r in results), results
    numbers = sorted(
        Response.objects.filter(family=family, form="sae").values_list("number", flat=True)
    )
    assert numbers == list(range(1, 9))
    assert_chain_unbroken()


def test_queries_raised_while_the_family_is_being_entered_do_not_deadlock(world):
    """A query's insert refers to the family (its foreign key is checked at commit, after
    the ledger's head is taken) while entry holds the family row: the entry lock must not
    refuse that check (NO KEY UPDATE), or the two wait for each other."""
    from crf.queries import query_raise

    family = randomised(world, days_ago=30)
    response = family.responses.get(visit="baseline", form="legal_status")

    def work(i: int):
        if i % 2:
            return query_raise(
                response=response,
                field="status",
                text=f"Check {i}",
                actor=world.monitor_buc,
                channel=Channel.API,
            )
        return report(world, family)

    for _ in range(3):
        results = race(8, work)
        assert not [r for r in results if isinstance(r, Exception)], results
    assert response.queries.count() == 12
    assert_chain_unbroken()

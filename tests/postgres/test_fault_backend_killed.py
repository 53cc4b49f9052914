"""A PostgreSQL backend killed (`pg_terminate_backend`) in the middle of a randomisation and
of an eCRF submission. The request is made to stop inside its transaction at a known point
(a row lock it needs, held by the test), its backend is found waiting there and terminated.
The client gets a clear 503 in the API's error shape (a page on the web); nothing of the
request was saved; a retry succeeds; exactly one allocation or response exists, each with
its one ledger event; the ledger verifies and no slot of the list is used twice."""

import queue
import threading

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from audit.events import EventType
from audit.models import ChainHead
from audit.verification import verify_ledger
from core.clock import today
from core.database import connection_lost, lost_message, nothing_saved
from crf.models import Response
from demo.answers import answers_for
from randomisation.models import Allocation, Stratum
from randomisation.verification import verify_lists
from trial.models import Family

from ..access import family_at, sealed_test_list
from ..crf.conftest import enter_baseline, load_forms, randomised
from .faults import (
    InThread,
    assert_each_row_has_its_event,
    ledger_state,
    row_locked,
    terminate,
    waiting_on_me,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.requirement("FLT-1"),
]

LOST = "The database connection was lost"

# Where the request is stopped: before it has written anything (the row it locks first
# among those it writes), or after it has written its rows and waits for the ledger's head
# to append its event (so that the kill finds a half-done transaction to roll back).
RANDOMISE_STOPS = {
    "at the stratum": lambda family: (Stratum, {"trial": family.trial}),
    "at the ledger head": lambda family: (ChainHead, {"pk": 1}),
}
SUBMIT_STOPS = {
    "at the family": lambda family: (Family, {"pk": family.pk}),
    "at the ledger head": lambda family: (ChainHead, {"pk": 1}),
}


def _ready_to_randomise(world):
    load_forms(world)
    family = family_at(world, "BUC")
    enter_baseline(world, family)
    sealed_test_list(world)
    return family


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _killed_mid_request(stop, send):
    """Send the request in a thread while the test holds the lock `stop` names; terminate
    the request's backend once it waits there; return the reply and the query it waited in."""
    model, where = stop
    with row_locked(model, **where):
        request = InThread(send)
        pid, query = waiting_on_me()
        terminate(pid)
    return request.result(), query


def _assert_lost_reply(reply):
    assert not isinstance(reply, Exception), repr(reply)
    assert reply.status_code == 503, (reply.status_code, reply.content[:300])
    assert reply["Retry-After"] == "1"
    error = reply.json()["error"]
    assert error["code"] == "database_unavailable"
    assert error["message"].startswith(LOST) and "nothing of it was saved" in error["message"]
    assert error["fields"] == {}


@pytest.mark.parametrize("where", RANDOMISE_STOPS)
def test_randomisation_whose_backend_is_killed_saves_nothing_and_a_retry_allocates_once(
    world, where
):
    family = _ready_to_randomise(world)
    url = f"/api/v1/families/{family.pk}/randomise/"
    used_before = dict(Stratum.objects.values_list("pk", "used"))
    head_before = ledger_state()
    history_before = Allocation.history.count()

    reply, query = _killed_mid_request(
        RANDOMISE_STOPS[where](family), lambda: _api(world.coord_buc).post(url)
    )

    _assert_lost_reply(reply)
    table = RANDOMISE_STOPS[where](family)[0]._meta.db_table
    assert table in query, query  # it was stopped where the test meant
    # Nothing of it remains: no allocation, no slot consumed, no ledger event, no history.
    assert not Allocation.objects.exists()
    assert dict(Stratum.objects.values_list("pk", "used")) == used_before
    assert ledger_state() == head_before
    assert Allocation.history.count() == history_before

    retried = _api(world.coord_buc).post(url)
    assert retried.status_code == 200, retried.content
    again = _api(world.coord_buc).post(url)  # randomising twice answers the same allocation
    assert again.status_code == 200 and again.json()["id"] == retried.json()["id"]

    allocation = Allocation.objects.select_related("slot", "stratum").get()
    assert allocation.pk == retried.json()["id"] and allocation.family_id == family.pk
    assert allocation.slot.position == 1 and allocation.stratum.used == 1
    assert sum(Stratum.objects.values_list("used", flat=True)) == 1
    assert_each_row_has_its_event(Allocation, EventType.RANDOMISED)
    assert verify_lists() == (1, [])  # every allocation is its slot's, none used twice
    assert verify_ledger().intact


@pytest.mark.parametrize("where", SUBMIT_STOPS)
def test_form_submission_whose_backend_is_killed_saves_nothing_and_a_retry_saves_one(world, where):
    family = randomised(world, days_ago=182)
    values = answers_for(load_forms(world)["core10"].spec, today())
    url = f"/api/v1/families/{family.pk}/responses/"
    body = {"form": "core10", "visit": "month_6", "values": values}
    responses_before = set(Response.objects.values_list("pk", flat=True))
    head_before = ledger_state()
    history_before = Response.history.count()

    reply, query = _killed_mid_request(
        SUBMIT_STOPS[where](family),
        lambda: _api(world.assessor_buc).post(url, body, format="json"),
    )

    _assert_lost_reply(reply)
    assert SUBMIT_STOPS[where](family)[0]._meta.db_table in query, query
    assert set(Response.objects.values_list("pk", flat=True)) == responses_before
    assert ledger_state() == head_before
    assert Response.history.count() == history_before

    retried = _api(world.assessor_buc).post(url, body, format="json")
    assert retried.status_code == 201, retried.content
    again = _api(world.assessor_buc).post(url, body, format="json")
    assert again.status_code == 409, again.content  # already entered: one response only
    assert "already entered" in again.json()["error"]["message"]

    saved = Response.objects.get(family=family, form="core10", visit="month_6")
    assert saved.pk == retried.json()["id"] and saved.values == retried.json()["values"]
    assert_each_row_has_its_event(Response, EventType.RESPONSE_ENTERED)
    assert verify_ledger().intact


def test_randomise_page_whose_backend_is_killed_says_nothing_was_saved(world, page):
    family = _ready_to_randomise(world)
    url = f"/families/{family.pk}/randomise/"
    client = page(world.coord_buc)
    head_before = ledger_state()

    reply, _ = _killed_mid_request((ChainHead, {"pk": 1}), lambda: client.post(url))

    assert not isinstance(reply, Exception), repr(reply)
    assert reply.status_code == 503
    text = reply.content.decode()
    assert 'data-error="database-lost"' in text and "nothing was saved" in text.lower()
    assert f'href="{url}"' in text  # the way back to try again
    assert not Allocation.objects.exists() and ledger_state() == head_before

    retried = client.post(url)
    assert retried.status_code == 302, retried.content[:300]
    allocation = Allocation.objects.get()
    assert retried["Location"].endswith(f"/families/{family.pk}/allocations/{allocation.pk}/")
    assert_each_row_has_its_event(Allocation, EventType.RANDOMISED)
    assert verify_lists() == (1, [])
    assert verify_ledger().intact


def _killed_connection(use):
    """In a thread (a connection of its own): connect, wait while the test terminates the
    backend, then `use` the connection; return what core.database says of the error."""
    pids, terminated = queue.Queue(), threading.Event()

    def run():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.put(cursor.fetchone()[0])
        assert terminated.wait(30)
        try:
            use()
        except Exception as exc:
            return connection_lost(exc), nothing_saved(), lost_message()
        raise AssertionError("the terminated connection answered")

    thread = InThread(run)
    terminate(pids.get(timeout=30))
    terminated.set()
    return thread.result()


def test_a_connection_lost_inside_a_transaction_is_told_apart_from_one_lost_after_it(world):
    # Inside the service's transaction: rolled back with the connection, nothing saved.
    def write():
        with transaction.atomic(durable=True):
            list(Family.objects.select_for_update())

    lost, none_saved, message = _killed_connection(write)
    assert lost and none_saved and "nothing of it was saved" in message
    # On a read outside any transaction (after a service committed): it may have saved.
    lost, none_saved, message = _killed_connection(lambda: list(Family.objects.all()))
    assert lost and not none_saved and "check what was saved" in message

from datetime import timedelta

import pytest
from django.test import Client

from audit.models import AuditEvent
from core.clock import today
from sites.models import Site

from ..factories import PASSWORD
from ..helpers import writes_nothing


def test_a_refused_site_registration_shows_the_message_beside_the_field(world, page):
    client = page(world.manager)
    with writes_nothing():
        answer = client.post(
            "/sites/new/",
            {
                "code": "BUC",
                "name": "x",
                "nhs_trust": "y",
                "local_authority": "z",
                "recruitment_target": 3,
            },
        )
    assert answer.status_code == 200
    assert b'data-field="code"' in answer.content
    assert b"already registered" in answer.content


def test_a_lower_case_code_is_refused_on_the_page(world, page):
    client = page(world.manager)
    with writes_nothing():
        answer = client.post(
            "/sites/new/",
            {
                "code": "rdg",
                "name": "x",
                "nhs_trust": "y",
                "local_authority": "z",
                "recruitment_target": 3,
            },
        )
    assert b"3 capital letters" in answer.content


def test_registration_through_the_page_is_audited_as_web(world, page):
    answer = page(world.manager).post(
        "/sites/new/",
        {
            "code": "RDG",
            "name": "Reading CAMHS",
            "nhs_trust": "Berkshire Healthcare",
            "local_authority": "Reading",
            "recruitment_target": 30,
        },
    )
    site = Site.objects.get(code="RDG")
    assert answer["Location"] == f"/sites/{site.pk}/"
    event = AuditEvent.objects.get(event_type="create", object_id=str(site.pk))
    assert (event.channel, event.actor_username) == ("web", "manager")


def test_the_status_step_form_comes_as_an_htmx_fragment(world, page):
    answer = page(world.manager).get(f"/sites/{world.mkn.pk}/status/", HTTP_HX_REQUEST="true")
    assert b"<html" not in answer.content and b'data-testid="status-form"' in answer.content
    assert b"Ethics approval date" in answer.content


def test_an_htmx_step_refused_redraws_the_form_with_the_error(world, page):
    client = page(world.manager)
    with writes_nothing():
        answer = client.post(
            f"/sites/{world.mkn.pk}/status/",
            {"status": "approved", "ethics_approval_date": today().isoformat()},
            HTTP_HX_REQUEST="true",
        )
    assert answer.status_code == 200 and b'data-field="rnd_approval_date"' in answer.content


def test_an_htmx_step_that_succeeds_tells_htmx_to_go_to_the_site(world, page):
    answer = page(world.manager).post(
        f"/sites/{world.mkn.pk}/status/",
        {
            "status": "approved",
            "ethics_approval_date": (today() - timedelta(9)).isoformat(),
            "rnd_approval_date": (today() - timedelta(3)).isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )
    assert answer["HX-Redirect"] == f"/sites/{world.mkn.pk}/"
    world.mkn.refresh_from_db()
    assert world.mkn.status == "approved"


def test_the_manager_ends_a_duty_with_htmx_and_gets_the_row_back(world, page):
    delegation = world.memberships[("coord.buc", "BUC")].delegations.get(duty="randomise")
    answer = page(world.manager).post(
        f"/people/duties/{delegation.pk}/end/", {}, HTTP_HX_REQUEST="true"
    )
    assert (
        answer.status_code == 200 and f'id="delegation-{delegation.pk}"'.encode() in answer.content
    )
    delegation.refresh_from_db()
    assert delegation.ends_on == today()


@pytest.mark.requirement("AUD-4")
def test_sign_in_and_sign_out_on_the_pages_are_recorded(world):
    client = Client()
    answer = client.post("/accounts/login/", {"username": "monitor.buc", "password": PASSWORD})
    assert answer.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    kinds = list(
        AuditEvent.objects.filter(actor_username="monitor.buc").values_list("event_type", "channel")
    )
    assert kinds == [("sign_in", "web"), ("sign_out", "web")]


@pytest.mark.requirement("AUD-4")
def test_a_failed_sign_in_shows_an_error_and_is_recorded(world):
    answer = Client().post("/accounts/login/", {"username": "monitor.buc", "password": "nope-nope"})
    assert answer.status_code == 200 and b'role="alert"' in answer.content
    assert AuditEvent.objects.filter(
        event_type="sign_in_failed", actor_username="monitor.buc", channel="web"
    ).exists()


@pytest.mark.requirement("ACC-2")
def test_repeated_failures_lock_the_page_sign_in(world):
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "coord.buc", "password": "wrong-wrong-1"})
    answer = client.post("/accounts/login/", {"username": "coord.buc", "password": PASSWORD})
    assert answer.status_code == 429 and b"locked" in answer.content


@pytest.mark.requirement("ACC-2")
def test_a_session_expires_after_thirty_idle_minutes(world, settings):
    client = Client()
    client.post("/accounts/login/", {"username": "coord.buc", "password": PASSWORD})
    session = client.session
    assert session.get_expiry_age() == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST  # each request pushes the expiry on
    session.set_expiry(-1)  # as if the thirty minutes had passed
    session.save()
    assert client.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.requirement("ACC-1")
def test_a_coordinator_cannot_open_another_sites_page(world, page):
    assert page(world.coord_buc).get(f"/sites/{world.oxf.pk}/").status_code == 404

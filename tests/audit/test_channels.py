"""The acting user is recorded in the history and the ledger on every channel."""

from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent
from sites.models import Notification, Site
from sites.tasks import notify_site_active
from trial.models import Trial

from ..factories import PASSWORD

DEFINITION = Path(__file__).resolve().parents[2] / "trial" / "definitions" / "reconnect.yaml"


def latest_site_version(site):
    return Site.history.filter(id=site.pk).order_by("-history_id").first()


def last_update(site):
    return (
        AuditEvent.objects.filter(
            object_type="sites.Site", object_id=str(site.pk), event_type="update"
        )
        .order_by("-seq")
        .first()
    )


def site_form(site, **changes):
    data = {
        "name": site.name,
        "nhs_trust": site.nhs_trust,
        "local_authority": site.local_authority,
        "recruitment_target": site.recruitment_target,
        "principal_investigator": site.principal_investigator_id or "",
        "reason": "",
    }
    return {**data, **changes}


@pytest.mark.requirement("AUD-1")
def test_a_change_on_the_page_records_user_channel_and_values(world, page):
    page(world.manager).post(
        f"/sites/{world.buc.pk}/edit/", site_form(world.buc, recruitment_target=41, reason="page")
    )
    assert latest_site_version(world.buc).history_user == world.manager
    event = last_update(world.buc)
    assert (event.channel, event.actor_username, event.changes, event.reason) == (
        "web",
        "manager",
        {"recruitment_target": [30, 41]},
        "page",
    )


@pytest.mark.requirement("AUD-1")
def test_a_change_through_the_api_with_a_token_records_the_token_user(world):
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "manager", "password": PASSWORD}).json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")
    answer = client.patch(
        f"/api/v1/sites/{world.buc.pk}/", {"recruitment_target": 42, "reason": "api"}, format="json"
    )
    assert answer.status_code == 200
    # The request middleware never saw this user (token auth happens in the view): the
    # service's stamp is what names them.
    assert latest_site_version(world.buc).history_user == world.manager
    event = last_update(world.buc)
    assert (event.channel, event.changes, event.reason) == (
        "api",
        {"recruitment_target": [30, 42]},
        "api",
    )


@pytest.mark.requirement("AUD-1")
def test_a_change_in_the_admin_goes_through_the_service(world, page):
    client = page(world.manager)
    answer = client.post(
        f"/admin/sites/site/{world.buc.pk}/change/",
        site_form(world.buc, recruitment_target=43, reason="admin"),
    )
    assert answer.status_code == 302, answer.content[:2000]
    assert latest_site_version(world.buc).history_user == world.manager
    event = last_update(world.buc)
    assert (event.channel, event.changes, event.reason) == (
        "admin",
        {"recruitment_target": [30, 43]},
        "admin",
    )


def test_a_refused_admin_change_writes_nothing_and_says_why(world, page):
    client = page(world.manager)
    before = AuditEvent.objects.count()
    answer = client.post(
        f"/admin/sites/site/{world.buc.pk}/change/",
        site_form(world.buc, principal_investigator=world.coord_buc.pk),
        follow=True,
    )
    assert b"principal investigator role" in answer.content
    assert AuditEvent.objects.count() == before
    world.buc.refresh_from_db()
    assert world.buc.principal_investigator == world.pi_buc


@pytest.mark.requirement("AUD-1")
def test_a_management_command_records_the_named_operator(world):
    call_command("trial_load", str(DEFINITION), "--as", "manager")
    trial = Trial.objects.get(code="RC")
    assert trial.history.first().history_user == world.manager
    event = AuditEvent.objects.filter(event_type="trial_loaded").get()
    assert (event.channel, event.actor_username) == ("command", "manager")
    assert event.reason == "loaded from reconnect.yaml"


@pytest.mark.requirement("AUD-1")
def test_a_task_records_the_user_whose_act_queued_it(world):
    notify_site_active(world.buc.pk, world.manager.pk)
    note = Notification.objects.get()
    assert note.history.first().history_user == world.manager
    event = AuditEvent.objects.filter(event_type="notification_sent").get()
    assert (event.channel, event.actor_username) == ("task", "manager")

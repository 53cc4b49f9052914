"""API tokens never outlive the password they were issued under, a disabled account or a
lockout, and live 10 hours from sign-in however much they are used."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from sites.accounts import account_set_active

from ..factories import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
NEW_PASSWORD = "A-fresh-passphrase-2026"


def token_for(username: str, password: str = PASSWORD) -> APIClient:
    client = APIClient()
    answer = client.post(TOKEN_URL, {"username": username, "password": password}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def test_a_password_changed_on_the_page_revokes_every_token(world):
    first, second = token_for("coord.buc"), token_for("coord.buc")
    page = Client()
    page.force_login(world.coord_buc, backend="django.contrib.auth.backends.ModelBackend")
    answer = page.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert answer.status_code == 302
    assert first.get("/api/v1/me/").status_code == 401
    assert second.get("/api/v1/me/").status_code == 401
    assert page.get("/").status_code == 200, "the session that changed it stays signed in"
    event = AuditEvent.objects.filter(event_type=EventType.TOKENS_REVOKED).last()
    assert (event.changes, event.reason) == ({"tokens": [2, 0]}, "password changed")
    assert token_for("coord.buc", NEW_PASSWORD).get("/api/v1/me/").status_code == 200


def test_a_password_changed_through_the_api_revokes_the_token_in_use_too(world):
    client = token_for("pi.buc")
    answer = client.post(
        "/api/v1/me/password/",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert answer.json() == {"tokens_revoked": 1}
    assert client.get("/api/v1/me/").status_code == 401


def test_a_wrong_current_password_changes_nothing(world):
    client = token_for("pi.buc")
    answer = client.post(
        "/api/v1/me/password/",
        {"old_password": "not-my-password-9", "new_password": NEW_PASSWORD},
        format="json",
    )
    assert answer.status_code == 400
    assert "old_password" in answer.json()["error"]["fields"]
    assert client.get("/api/v1/me/").status_code == 200
    world.pi_buc.refresh_from_db()
    assert world.pi_buc.check_password(PASSWORD)


def test_the_other_sessions_of_someone_who_changed_their_password_end(world):
    other = Client()
    other.force_login(world.coord_buc, backend="django.contrib.auth.backends.ModelBackend")
    page = Client()
    page.force_login(world.coord_buc, backend="django.contrib.auth.backends.ModelBackend")
    page.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert other.get("/").status_code == 302


def test_disabling_an_account_revokes_its_tokens_and_ends_its_sessions(world):
    client = token_for("coord.oxf")
    page = Client()
    page.force_login(world.coord_oxf, backend="django.contrib.auth.backends.ModelBackend")
    account_set_active(
        actor=world.manager,
        channel=Channel.WEB,
        trial=world.trial,
        user=world.coord_oxf,
        active=False,
        reason="left the trust",
    )
    assert not AuthToken.objects.filter(user=world.coord_oxf).exists()
    assert client.get("/api/v1/me/").status_code == 401
    assert page.get("/").status_code == 302
    assert (
        APIClient().post(TOKEN_URL, {"username": "coord.oxf", "password": PASSWORD}).status_code
        == 400
    )


@pytest.mark.requirement("ACC-2")
def test_a_lockout_revokes_the_tokens_of_the_username(world):
    client = token_for("coord.buc")
    for _ in range(5):
        APIClient().post(TOKEN_URL, {"username": "coord.buc", "password": "wrong-password-1"})
    assert client.get("/api/v1/me/").status_code == 401
    event = AuditEvent.objects.filter(event_type=EventType.TOKENS_REVOKED).last()
    assert (event.object_id, event.reason) == (str(world.coord_buc.pk), "sign-in locked out")


@pytest.mark.requirement("ACC-2")
def test_use_does_not_extend_a_token(world):
    client = token_for("monitor.buc")
    stored = AuthToken.objects.get(user=world.monitor_buc)
    issued_expiry = stored.expiry
    assert abs(issued_expiry - stored.created - timedelta(hours=10)) < timedelta(seconds=1)
    for _ in range(3):
        assert client.get("/api/v1/me/").status_code == 200
    stored.refresh_from_db()
    assert stored.expiry == issued_expiry


@pytest.mark.requirement("ACC-2")
def test_a_token_ten_hours_old_is_refused_however_much_it_was_used(world):
    client = token_for("monitor.buc")
    AuthToken.objects.filter(user=world.monitor_buc).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    assert client.get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize("active", [False, True])
def test_only_a_trial_manager_disables_or_enables_and_says_why(world, api, active):
    if active:
        world.coord_oxf.is_active = False
        world.coord_oxf.save()
    url = f"/api/v1/accounts/{world.coord_oxf.pk}/active/"
    assert api(world.pi_buc).post(url, {"active": active, "reason": "x"}).status_code == 403
    without = api(world.manager).post(url, {"active": active, "reason": ""}, format="json")
    assert without.status_code == 400 and "reason" in without.json()["error"]["fields"]
    done = api(world.manager).post(url, {"active": active, "reason": "back from leave"})
    assert done.status_code == 200 and done.json()["is_active"] is active

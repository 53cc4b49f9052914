"""Accounts by email: the trial manager invites a user, who sets a password from a one-time
link; anyone resets a forgotten password the same way; the trial manager unlocks a locked
account with a reason. Each is audited; the link is never kept."""

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail

from audit.events import EventType
from audit.models import AuditEvent
from sites.models import Notification

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW_PASSWORD = "a long new passphrase 7Q"
LINK = re.compile(r"http://testserver(/accounts/password/set/[^/\s]+/[^/\s]+/)")


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def test_an_invited_user_sets_a_password_from_the_email_and_signs_in(
    world, client, django_capture_on_commit_callbacks
):
    client.force_login(world.manager)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/people/accounts/invite/",
            {"username": "new.coord", "email": "new.coord@nhs.example", "first_name": "Nia"},
        )
    assert answer.status_code == 302
    invited = User.objects.get(username="new.coord")
    assert not invited.has_usable_password()
    (message,) = mail.outbox
    assert message.to == ["new.coord@nhs.example"] and "new.coord" in message.body
    link = link_in(message)
    # The kept copy of the email and the ledger never hold the link.
    kept = Notification.objects.get(recipient="new.coord@nhs.example")
    assert link not in kept.body and "not kept" in kept.body
    assert not AuditEvent.objects.filter(changes__icontains=link.split("/")[-2]).exists()
    assert AuditEvent.objects.filter(event_type=EventType.ACCOUNT_INVITED).count() == 1
    visitor = client.__class__()
    assert b"Set your password" in visitor.get(link).content
    short = visitor.post(link, {"password": "short", "password_again": "short"})
    assert short.status_code == 200 and not User.objects.get(pk=invited.pk).has_usable_password()
    done = visitor.post(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    assert User.objects.get(username="new.coord").check_password(NEW_PASSWORD)
    again = visitor.get(link)
    assert b'data-testid="link-expired"' in again.content  # the link works once
    assert AuditEvent.objects.filter(event_type=EventType.PASSWORD_SET).count() == 1


@pytest.mark.parametrize("who", ["coord.buc", "monitor.buc", "stats.blind", "pi.buc"])
def test_only_the_trial_manager_invites(world, client, who):
    client.force_login(world.users[who])
    before = User.objects.count(), AuditEvent.objects.count()
    answer = client.post(
        "/people/accounts/invite/", {"username": "someone", "email": "someone@nhs.example"}
    )
    assert answer.status_code == 403
    assert (User.objects.count(), AuditEvent.objects.count()) == before and not mail.outbox


def test_a_forgotten_password_is_reset_from_an_emailed_link(
    world, client, django_capture_on_commit_callbacks
):
    world.coord_buc.email = "coord.buc@nhs.example"
    world.coord_buc.save()
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post("/accounts/password/reset/", {"email": "nobody@nhs.example"})
        known = client.post("/accounts/password/reset/", {"email": "COORD.BUC@nhs.example"})

    # The same answer either way: no one learns who has an account.
    def shown(answer) -> str:  # the page, without its per-request CSRF token
        return re.sub(r"[A-Za-z0-9]{32,}", "", answer.content.decode())

    assert shown(unknown) == shown(known) and 'data-testid="reset-sent"' in shown(known)
    (message,) = mail.outbox
    link = link_in(message)
    client.post(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert User.objects.get(username="coord.buc").check_password(NEW_PASSWORD)
    kinds = set(
        AuditEvent.objects.filter(object_id=str(world.coord_buc.pk)).values_list(
            "event_type", flat=True
        )
    )
    assert {EventType.PASSWORD_RESET_REQUESTED, EventType.PASSWORD_SET} <= kinds


def lock_out(user) -> None:
    AccessAttempt.objects.create(
        username=user.username,
        ip_address="192.0.2.1",
        user_agent="test",
        failures_since_start=settings.AXES_FAILURE_LIMIT,
    )


def test_the_manager_unlocks_a_locked_account_with_a_reason(world, client):
    lock_out(world.coord_buc)
    client.force_login(world.manager)
    page = client.get(f"/people/accounts/{world.coord_buc.pk}/").content.decode()
    assert 'data-testid="locked-out"' in page and 'data-testid="unlock"' in page
    blank = client.post(f"/people/accounts/{world.coord_buc.pk}/unlock/", {"reason": ""})
    assert blank.status_code == 302 and AccessAttempt.objects.exists()
    done = client.post(
        f"/people/accounts/{world.coord_buc.pk}/unlock/", {"reason": "Phoned: it was them."}
    )
    assert done.status_code == 302 and not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(event_type=EventType.ACCOUNT_UNLOCKED)
    assert event.reason == "Phoned: it was them." and event.actor_username == "manager"


def test_accounts_by_email_through_the_api(world, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invited = api(world.manager).post(
            "/api/v1/accounts/invite/",
            {"username": "api.user", "email": "api.user@nhs.example"},
            format="json",
        )
    assert invited.status_code == 201 and invited.json()["username"] == "api.user"
    uid, token = link_in(mail.outbox[0]).rstrip("/").split("/")[-2:]
    bad = api(None).post(
        "/api/v1/auth/password-set/",
        {"uid": uid, "token": token + "x", "password": NEW_PASSWORD},
        format="json",
    )
    assert bad.status_code == 400 and "token" in bad.json()["error"]["fields"]
    weak = api(None).post(
        "/api/v1/auth/password-set/",
        {"uid": uid, "token": token, "password": "abc"},
        format="json",
    )
    assert weak.status_code == 400 and "password" in weak.json()["error"]["fields"]
    done = api(None).post(
        "/api/v1/auth/password-set/",
        {"uid": uid, "token": token, "password": NEW_PASSWORD},
        format="json",
    )
    assert done.status_code == 204
    assert User.objects.get(username="api.user").check_password(NEW_PASSWORD)
    reset = api(None).post(
        "/api/v1/auth/password-reset/", {"email": "nobody@nhs.example"}, format="json"
    )
    assert reset.status_code == 202
    lock_out(world.coord_buc)
    unlocked = api(world.manager).post(
        f"/api/v1/accounts/{world.coord_buc.pk}/unlock/",
        {"reason": "It was them."},
        format="json",
    )
    assert unlocked.status_code == 200 and not AccessAttempt.objects.exists()
    again = api(world.manager).post(
        f"/api/v1/accounts/{world.coord_buc.pk}/unlock/", {"reason": "Again."}, format="json"
    )
    assert again.status_code == 409

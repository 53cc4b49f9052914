"""Two-factor sign-in on the pages: enrolment at the first sign-in, a code at each later one,
wrong and reused codes refused and audited, recovery codes spent once each, and the trial
manager's audited reset. The suite waives the second factor; these tests turn the waiver off."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from core.channels import Channel
from core.errors import NotPermitted, TrialError
from core.roles import SECOND_FACTOR_ROLES, Role
from sites.checks import second_factor_not_waived
from sites.second_factor import (
    RECOVERY_CODE_COUNT,
    second_factor_enrol,
    second_factor_reset,
    second_factor_verify,
)

from ..factories import PASSWORD

pytestmark = [pytest.mark.requirement("ACC-2"), pytest.mark.django_db]
ENROL = "/accounts/two-factor/enrol/"
VERIFY = "/accounts/two-factor/code/"


def code_of(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or that many 30-second steps later)."""
    drift = device.drift + steps_ahead
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}"


def signed_in(username: str) -> Client:
    """A session past the password (the real sign-in form), before any second factor."""
    client = Client()
    answer = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.content[:300]
    return client


def events(kind: str, username: str):
    return AuditEvent.objects.filter(event_type=kind, object_id__isnull=False).filter(
        actor_username=username
    )


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    """The user enrolled through the service, as the enrolment page does."""
    from sites.second_factor import enrolment_device

    device = enrolment_device(user=user)
    return second_factor_enrol(user=user, code=code_of(device), channel=Channel.WEB)


def unthrottled(device) -> None:
    """As if the wait after the last wrong code had passed."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=10)
    )


def test_the_roles_that_see_identity_or_an_arm_are_the_ones_that_must():
    assert {
        Role.SITE_COORDINATOR,
        Role.PRINCIPAL_INVESTIGATOR,
        Role.STATISTICIAN_UNBLINDED,
        Role.TRIAL_MANAGER,
    } <= SECOND_FACTOR_ROLES
    assert not {Role.OUTCOME_ASSESSOR, Role.STATISTICIAN_BLINDED} & SECOND_FACTOR_ROLES


@override_settings(TWO_FACTOR_WAIVED=False)
def test_first_sign_in_enrols_then_the_next_asks_for_a_code(world):
    client = signed_in("coord.buc")
    home = client.get("/")
    assert home.status_code == 302 and home["Location"].startswith(ENROL)

    page = client.get(home["Location"])
    assert page.status_code == 200
    secret = page.context["secret"]
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})*", secret)
    qr = client.get("/accounts/two-factor/enrol/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    device = TOTPDevice.objects.get(user=world.coord_buc, confirmed=False)

    wrong = client.post(ENROL, {"code": "000000" if code_of(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=world.coord_buc, confirmed=True).exists()

    done = client.post(ENROL, {"code": code_of(device), "next": "/sites/"})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == RECOVERY_CODE_COUNT == len(set(codes))
    for code in codes:
        assert code in done.content.decode()
    # This session passed the second factor: every page opens.
    assert client.get("/sites/").status_code == 200
    assert events("second_factor_enrolled", "coord.buc").count() == 1
    assert events("recovery_codes_generated", "coord.buc").count() == 1

    client.post("/accounts/logout/")
    again = signed_in("coord.buc")
    asked = again.get("/sites/")
    assert asked.status_code == 302 and asked["Location"].startswith(VERIFY)
    device.refresh_from_db()
    passed = again.post(VERIFY, {"code": code_of(device, 1), "next": "/sites/"})
    assert passed.status_code == 302 and passed["Location"] == "/sites/"
    assert again.get("/sites/").status_code == 200
    assert events("second_factor_verified", "coord.buc").count() == 1


@override_settings(TWO_FACTOR_WAIVED=False)
@pytest.mark.requirement("AUD-4")
def test_a_wrong_code_is_refused_and_audited(world):
    device, _codes = enrolled(world.pi_buc)
    client = signed_in("pi.buc")
    right = code_of(device, 1)
    wrong = "123456" if right != "123456" else "654321"
    answer = client.post(VERIFY, {"code": wrong})
    assert answer.status_code == 200
    assert "not right" in answer.content.decode()
    assert client.get("/").status_code == 302
    failed = events("second_factor_failed", "pi.buc").get()
    assert (failed.reason, failed.channel, failed.actor_id) == (
        "wrong code",
        "web",
        world.pi_buc.pk,
    )

    # Throttled: the right code straight after a wrong one waits its turn (and is audited).
    too_soon = client.post(VERIFY, {"code": right})
    assert too_soon.status_code == 200 and "wait" in too_soon.content.decode()
    assert events("second_factor_failed", "pi.buc").count() == 2
    unthrottled(device)
    assert client.post(VERIFY, {"code": right}).status_code == 302
    assert client.get("/").status_code == 200


@override_settings(TWO_FACTOR_WAIVED=False)
@pytest.mark.requirement("AUD-4")
def test_a_reused_code_is_refused_and_audited(world):
    device, _codes = enrolled(world.stats_unblind)
    code = code_of(device, 1)
    first = signed_in("stats.unblind")
    assert first.post(VERIFY, {"code": code}).status_code == 302

    second = signed_in("stats.unblind")
    answer = second.post(VERIFY, {"code": code})
    assert answer.status_code == 200
    assert "used already" in answer.content.decode()
    assert second.get("/").status_code == 302
    failed = events("second_factor_failed", "stats.unblind").get()
    assert failed.reason == "code already used"


@override_settings(TWO_FACTOR_WAIVED=False)
def test_each_recovery_code_signs_in_once(world):
    _device, codes = enrolled(world.manager)
    first = signed_in("manager")
    answer = first.post(VERIFY, {"code": codes[0].upper()})  # typed in capitals: still it
    assert answer.status_code == 302
    assert first.get("/").status_code == 200
    assert StaticToken.objects.filter(device__user=world.manager).count() == RECOVERY_CODE_COUNT - 1
    used = events("second_factor_verified", "manager").get()
    assert used.changes["recovery_codes"] == [RECOVERY_CODE_COUNT, RECOVERY_CODE_COUNT - 1]

    again = signed_in("manager")
    refused = again.post(VERIFY, {"code": codes[0]})
    assert refused.status_code == 200
    assert again.get("/").status_code == 302
    assert events("second_factor_failed", "manager").get().reason == (
        "wrong or already used recovery code"
    )
    unthrottled(StaticDevice.objects.get(user=world.manager))
    assert again.post(VERIFY, {"code": codes[1]}).status_code == 302


@override_settings(TWO_FACTOR_WAIVED=False)
def test_new_recovery_codes_replace_the_old(world):
    device, old = enrolled(world.coord_oxf)
    client = signed_in("coord.oxf")
    client.post(VERIFY, {"code": code_of(device, 1)})
    answer = client.post("/accounts/two-factor/recovery-codes/")
    new = answer.context["codes"]
    assert len(new) == RECOVERY_CODE_COUNT and not set(new) & set(old)
    assert set(
        StaticToken.objects.filter(device__user=world.coord_oxf).values_list("token", flat=True)
    ) == set(new)
    assert events("recovery_codes_generated", "coord.oxf").count() == 2


@override_settings(TWO_FACTOR_WAIVED=False)
def test_an_offered_role_signs_in_without_and_may_enrol_of_their_own_accord(world):
    client = signed_in("assessor.buc")
    assert client.get("/").status_code == 200
    own = client.get("/accounts/two-factor/")
    assert "not set up" in own.content.decode()
    page = client.get(ENROL)
    assert page.status_code == 200 and not page.context["required"]
    device = TOTPDevice.objects.get(user=world.assessor_buc)
    assert client.post(ENROL, {"code": code_of(device)}).status_code == 200

    # Once enrolled they are asked too.
    later = signed_in("assessor.buc")
    assert later.get("/")["Location"].startswith(VERIFY)


@override_settings(TWO_FACTOR_WAIVED=False)
@pytest.mark.requirement("AUD-4")
def test_the_trial_manager_resets_a_second_factor_with_a_reason(world):
    from knox.models import AuthToken

    enrolled(world.coord_buc)
    AuthToken.objects.create(world.coord_buc)
    manager_device, _ = enrolled(world.manager)
    manager = signed_in("manager")
    manager.post(VERIFY, {"code": code_of(manager_device, 1)})
    url = f"/people/accounts/{world.coord_buc.pk}/two-factor/reset/"
    account = manager.get(f"/people/accounts/{world.coord_buc.pk}/")
    assert "Reset second factor" in account.content.decode()

    no_reason = manager.post(url, {"reason": ""}, follow=True)
    assert "Not reset" in no_reason.content.decode()
    assert TOTPDevice.objects.filter(user=world.coord_buc).exists()

    done = manager.post(url, {"reason": "Lost their phone; identity checked by call-back."})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.coord_buc).exists()
    assert not StaticDevice.objects.filter(user=world.coord_buc).exists()
    assert not AuthToken.objects.filter(user=world.coord_buc).exists()
    reset = AuditEvent.objects.get(event_type="second_factor_reset")
    assert (reset.actor_username, reset.object_id, reset.channel) == (
        "manager",
        str(world.coord_buc.pk),
        "web",
    )
    assert reset.reason.startswith("Lost their phone")
    assert reset.changes == {"second_factor": [True, False]}
    # Their next sign-in enrols again.
    assert signed_in("coord.buc").get("/")["Location"].startswith(ENROL)


@pytest.mark.parametrize("who", ["coord.oxf", "pi.buc", "monitor.buc", "stats.unblind", "chief"])
def test_only_a_trial_manager_resets_a_second_factor(world, who):
    enrolled(world.coord_buc)
    with pytest.raises(NotPermitted):
        second_factor_reset(
            actor=world.users[who],
            channel=Channel.WEB,
            trial=world.trial,
            user=world.coord_buc,
            reason="Lost phone.",
        )
    client = Client()
    client.force_login(world.users[who], backend="django.contrib.auth.backends.ModelBackend")
    answer = client.post(
        f"/people/accounts/{world.coord_buc.pk}/two-factor/reset/", {"reason": "Lost phone."}
    )
    assert answer.status_code in (403, 404)
    assert TOTPDevice.objects.filter(user=world.coord_buc, confirmed=True).exists()
    assert not AuditEvent.objects.filter(event_type="second_factor_reset").exists()


def test_a_trial_manager_cannot_reset_their_own(world):
    enrolled(world.manager)
    with pytest.raises(TrialError, match="another trial manager"):
        second_factor_reset(
            actor=world.manager,
            channel=Channel.WEB,
            trial=world.trial,
            user=world.manager,
            reason="Lost phone.",
        )


def test_an_empty_code_names_the_field(world):
    enrolled(world.coord_buc)
    with pytest.raises(TrialError) as refused:
        second_factor_verify(user=world.coord_buc, code="  ", channel=Channel.WEB, field="otp")
    assert refused.value.field == "otp"


def test_the_sign_in_page_says_when_the_second_factor_is_waived(db):
    with override_settings(TWO_FACTOR_WAIVED=True):
        assert (
            "Demo: the second factor is not asked for"
            in Client().get("/accounts/login/").content.decode()
        )
    with override_settings(TWO_FACTOR_WAIVED=False):
        assert "Demo:" not in Client().get("/accounts/login/").content.decode()


def test_a_waiver_with_debug_off_is_a_system_check_error(settings):
    settings.TWO_FACTOR_WAIVED, settings.DEBUG = True, False
    assert [e.id for e in second_factor_not_waived()] == ["sites.E201"]
    settings.DEBUG = True
    assert second_factor_not_waived() == []
    settings.TWO_FACTOR_WAIVED, settings.DEBUG = False, False
    assert second_factor_not_waived() == []
    settings.TWO_FACTOR_WAIVED = True
    settings.SILENCED_SYSTEM_CHECKS = []
    with pytest.raises(SystemCheckError, match=r"sites\.E201"):
        call_command("check")


@override_settings(TWO_FACTOR_WAIVED=False)
def test_a_demo_account_signs_in_with_the_code_of_its_printed_secret(world):
    from base64 import b32decode

    from demo.second_factor import demo_totp_key, demo_totp_secret
    from sites.second_factor import second_factor_install

    secret = demo_totp_secret("coord.buc")
    assert secret == demo_totp_secret("coord.buc") != demo_totp_secret("coord.oxf")
    with pytest.raises(TrialError):
        second_factor_install(
            user=world.coord_buc, key=demo_totp_key("coord.buc"), channel=Channel.WEB
        )
    second_factor_install(
        user=world.coord_buc, key=demo_totp_key("coord.buc"), channel=Channel.COMMAND
    )
    client = signed_in("coord.buc")
    assert client.get("/")["Location"].startswith(VERIFY)
    code = f"{totp(b32decode(secret)):06d}"
    assert client.post(VERIFY, {"code": code}).status_code == 302
    assert client.get("/").status_code == 200


def test_production_refuses_a_waiver():
    import secrets

    from ..test_settings import PG, manage

    result = manage(
        "check", SECRET_KEY=secrets.token_urlsafe(60), DATABASE_URL=PG, TWO_FACTOR_WAIVED="1"
    )
    assert result.returncode != 0 and "TWO_FACTOR_WAIVED" in result.stderr


def test_the_admin_shows_no_second_factor_device():
    from django.contrib import admin

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)

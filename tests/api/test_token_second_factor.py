"""API tokens with the second factor: issued only with a right code (the app's or a recovery
code) in the token request to a user who has or needs one; a user whose role needs one and
who has none is told to enrol on the web. Refusals are audited."""

import pytest
from django.test import override_settings
from django_otp.oath import totp
from knox.models import AuthToken
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.channels import Channel
from sites.second_factor import enrolment_device, second_factor_enrol

from ..factories import PASSWORD

pytestmark = pytest.mark.requirement("ACC-2")
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _asked():
    with override_settings(TWO_FACTOR_WAIVED=False):
        yield


def code_of(device, steps_ahead: int = 0) -> str:
    drift = device.drift + steps_ahead
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}"


def enrolled(user):
    device = enrolment_device(user=user)
    return second_factor_enrol(user=user, code=code_of(device), channel=Channel.WEB)


def ask(username: str, **otp):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": PASSWORD, **otp}, format="json"
    )


def test_a_required_role_without_a_second_factor_is_told_to_enrol_on_the_web(world):
    answer = ask("coord.buc", otp="123456")
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "second_factor_enrolment_required"
    assert "otp" in error["fields"] and "web" in error["message"]
    assert not AuthToken.objects.exists()


@pytest.mark.requirement("AUD-4")
def test_no_code_or_a_wrong_code_gets_no_token_and_a_wrong_one_is_audited(world):
    device, _ = enrolled(world.coord_buc)
    missing = ask("coord.buc")
    assert missing.status_code == 400
    assert list(missing.json()["error"]["fields"]) == ["otp"]

    right = code_of(device, 1)
    wrong = ask("coord.buc", otp="000000" if right != "000000" else "111111")
    assert wrong.status_code == 400
    assert list(wrong.json()["error"]["fields"]) == ["otp"]
    assert not AuthToken.objects.exists()
    failed = AuditEvent.objects.get(event_type="second_factor_failed")
    assert (failed.actor_username, failed.channel, failed.reason) == (
        "coord.buc",
        "api",
        "wrong code",
    )


@pytest.mark.requirement("AUD-4")
def test_the_right_code_gets_a_token_once(world):
    device, _ = enrolled(world.stats_unblind)
    code = code_of(device, 1)
    answer = ask("stats.unblind", otp=code)
    assert answer.status_code == 200, answer.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    assert client.get("/api/v1/me/").json()["username"] == "stats.unblind"
    verified = AuditEvent.objects.get(event_type="second_factor_verified")
    assert (verified.actor_username, verified.channel) == ("stats.unblind", "api")

    again = ask("stats.unblind", otp=code)
    assert again.status_code == 400
    assert "used already" in again.json()["error"]["fields"]["otp"][0]
    assert AuthToken.objects.count() == 1


def test_a_recovery_code_gets_a_token_once(world):
    _device, codes = enrolled(world.pi_buc)
    assert ask("pi.buc", otp=codes[3]).status_code == 200
    assert ask("pi.buc", otp=codes[3]).status_code == 400
    assert AuthToken.objects.count() == 1


def test_an_offered_role_without_a_second_factor_gets_a_token_with_the_password(world):
    assert ask("assessor.buc").status_code == 200


def test_a_wrong_password_is_refused_before_any_code_is_tried(world):
    enrolled(world.coord_buc)
    answer = APIClient().post(
        TOKEN_URL, {"username": "coord.buc", "password": "not-it-at-all-1", "otp": "123456"}
    )
    assert answer.status_code == 400
    assert "password" in answer.json()["error"]["fields"]
    assert not AuditEvent.objects.filter(event_type="second_factor_failed").exists()


def test_the_schema_describes_the_otp_field(world):
    schema = APIClient()
    schema.force_authenticate(world.manager)
    body = schema.get("/api/schema/?format=json").json()
    fields = body["components"]["schemas"]["TokenRequestInRequest"]["properties"]
    assert "otp" in fields and "recovery" in fields["otp"]["description"]

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent

from ..factories import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"


def test_a_token_from_username_and_password_works_on_every_endpoint(world):
    client = APIClient()
    answer = client.post(TOKEN_URL, {"username": "coord.buc", "password": PASSWORD}, format="json")
    assert answer.status_code == 200
    token = answer.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/").json()
    assert me["username"] == "coord.buc"
    assert [(r["site_code"], r["role"]) for r in me["roles"]] == [("BUC", "site_coordinator")]
    assert client.get("/api/v1/sites/").status_code == 200
    event = AuditEvent.objects.filter(event_type="sign_in").last()
    assert (event.actor_username, event.channel) == ("coord.buc", "api")


def test_only_a_digest_of_the_token_is_stored(world):
    from knox.models import AuthToken

    token = (
        APIClient().post(TOKEN_URL, {"username": "manager", "password": PASSWORD}).json()["token"]
    )
    stored = AuthToken.objects.get()
    assert token not in (stored.digest, stored.token_key)


@pytest.mark.requirement("AUD-4")
def test_a_wrong_password_is_400_and_recorded_as_a_failed_sign_in(world):
    answer = APIClient().post(TOKEN_URL, {"username": "coord.buc", "password": "wrong-password-1"})
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {
        "password": ["Username or password is not correct."]
    }
    event = AuditEvent.objects.filter(event_type="sign_in_failed").last()
    assert (event.actor_username, event.channel, event.actor_id) == ("coord.buc", "api", None)


def test_missing_fields_name_the_field(world):
    answer = APIClient().post(TOKEN_URL, {"username": "coord.buc"}, format="json")
    assert answer.status_code == 400
    assert "password" in answer.json()["error"]["fields"]


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token ",
        "Token abc def",
        "Token not-a-real-token",
        "Bearer abc",
        "Token " + "x" * 300,
    ],
)
def test_a_malformed_or_unknown_token_is_401_with_a_message(world, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    answer = client.get("/api/v1/me/")
    assert answer.status_code == 401
    assert answer.json()["error"]["message"]


@pytest.mark.requirement("ACC-2", "AUD-4")
def test_five_failures_lock_the_account_even_with_the_right_password(world):
    client = APIClient()
    for _ in range(5):
        client.post(TOKEN_URL, {"username": "pi.buc", "password": "wrong-password-1"})
    answer = client.post(TOKEN_URL, {"username": "pi.buc", "password": PASSWORD})
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "locked_out"
    assert AuditEvent.objects.filter(event_type="lockout", actor_username="pi.buc").exists()
    # Another account is not locked by pi.buc's failures.
    assert client.post(TOKEN_URL, {"username": "pi.oxf", "password": PASSWORD}).status_code == 200


def test_revoking_the_token_signs_out(world):
    client = APIClient()
    token = client.post(TOKEN_URL, {"username": "manager", "password": PASSWORD}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/auth/token/revoke/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.filter(event_type="sign_out", actor_username="manager").exists()


def test_an_unauthenticated_request_is_401_in_the_error_shape(world):
    answer = APIClient().get("/api/v1/sites/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"

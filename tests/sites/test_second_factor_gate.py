"""The gate of the second factor, walked over every page of the pages' permission matrix and
every endpoint of the API's: a role that must pass a second factor, signed in with the password
alone, reaches none of them (pages send it to enrol or to enter its code, the API answers 403);
the roles it is offered to are not held back by it."""

import copy
import json

import pytest
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.roles import SECOND_FACTOR_ROLES

from ..api.test_permissions_matrix import ENDPOINTS
from ..conftest import World, rolled_back
from ..pages.test_permissions_matrix import PAGES

pytestmark = pytest.mark.requirement("ACC-2")

REQUIRED = [u for role, u in World.ROLE_ACCOUNTS.items() if role in SECOND_FACTOR_ROLES]
OFFERED = [u for role, u in World.ROLE_ACCOUNTS.items() if role not in SECOND_FACTOR_ROLES]
# Open to a session that has not passed the second factor: these ask for no session at all.
OPEN_ENDPOINTS = {"password reset", "password set", "password set (a wrong link)"}
OPEN_PAGES = {
    "forgotten password",
    "set a password (a wrong link)",
    # The gate's own pages.
    "set up two-factor sign-in",
    "no enrolment's QR code",
    "enter a second-factor code",
}
GATE = ("/accounts/two-factor/enrol/", "/accounts/two-factor/code/")


@pytest.fixture
def world(shared_world):
    return shared_world


@pytest.fixture(autouse=True)
def _asked():
    with override_settings(TWO_FACTOR_WAIVED=False):
        yield


def password_only(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def call(client, world, method, url, body, **extra):
    # Each request's records (made by the URL's helpers, which cache them on the World) are
    # rolled back, and the World's attributes restored, as in a case of its own.
    kept = copy.deepcopy(world.__dict__)
    try:
        with rolled_back():
            return getattr(client, method)(url(world), body(world) if body else {}, **extra)
    finally:
        world.__dict__.clear()
        world.__dict__.update(kept)


def test_the_walk_covers_every_role():
    assert sorted(REQUIRED) == sorted(
        ["manager", "coord.buc", "monitor.buc", "stats.unblind", "pi.buc", "chief"]
    )
    assert sorted(OFFERED) == ["assessor.buc", "outsider", "stats.blind"]


# Each role before enrolment (sent to enrol); once enrolled (sent to enter a code), one role
# stands for all: what differs is only where the gate sends them.
WALKS = [(who, False) for who in REQUIRED] + [("coord.buc", True)]


@pytest.mark.parametrize(("who", "enrolled"), WALKS, ids=[f"{w}-{e}" for w, e in WALKS])
def test_a_required_role_reaches_no_page_without_the_second_factor(world, who, enrolled):
    user = world.users[who]
    if enrolled:
        TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    gate = GATE[enrolled]
    client = password_only(user)
    for name, (method, url, body, _expected) in PAGES.items():
        if name in OPEN_PAGES:
            continue
        answer = call(client, world, method, url, body)
        if answer.get("Content-Type") == "application/json":  # the API's documentation pages
            assert answer.status_code == 403, name
            assert json.loads(answer.content)["error"]["code"] == "second_factor_required"
            continue
        assert answer.status_code == 302, f"{name}: {answer.status_code}"
        assert answer["Location"].startswith(gate), f"{name}: {answer['Location']}"


@pytest.mark.parametrize("who", REQUIRED)
def test_a_required_role_reaches_no_endpoint_on_a_password_only_session(world, who):
    client = password_only(world.users[who])
    for name, (method, url, body, _expected) in ENDPOINTS.items():
        if name in OPEN_ENDPOINTS:
            continue
        answer = call(client, world, method, url, body, content_type="application/json")
        assert answer.status_code == 403, f"{name}: {answer.status_code}"
        assert json.loads(answer.content)["error"]["code"] == "second_factor_required", name


@pytest.mark.parametrize("who", OFFERED)
def test_an_offered_role_is_not_held_back(world, who):
    client = password_only(world.users[who])
    for name, (method, url, body, _expected) in PAGES.items():
        if name in OPEN_PAGES:  # the code page sends anyone not enrolled to enrol, as its view
            continue
        answer = call(client, world, method, url, body)
        assert not answer.get("Location", "").startswith(GATE), name
    for name, (method, url, body, _expected) in ENDPOINTS.items():
        answer = call(client, world, method, url, body, content_type="application/json")
        if answer.status_code == 403:
            assert json.loads(answer.content)["error"]["code"] != "second_factor_required", name


def test_a_session_that_passed_the_second_factor_goes_through(world):
    from django_otp import DEVICE_ID_SESSION_KEY

    device = TOTPDevice.objects.create(user=world.coord_buc, name="app", confirmed=True)
    client = password_only(world.coord_buc)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


def test_another_authorization_scheme_does_not_slip_a_session_past_the_gate(world):
    client = password_only(world.coord_buc)
    for header in ("Basic Y29vcmQuYnVjOng=", "Bearer abc", "token-ish"):
        answer = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)
        assert answer.status_code == 403, header
        assert json.loads(answer.content)["error"]["code"] == "second_factor_required"
    # A token header is knox's to decide: a wrong token is refused on its own.
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token nonsense").status_code == 401

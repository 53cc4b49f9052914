"""Identifying data appears nowhere (API, page, CSV, log line) for anyone but the
coordinators of the family's site, and for them only where they ask for it."""

import logging
from datetime import date, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.clock import today
from trial.enrolment import ContactIn, PersonIn

from ..access import consent_v1
from .conftest import consent, enrol, screen

pytestmark = pytest.mark.requirement("IDN-1")

# The child is 101 days old on the day the test runs; its dates of birth, as the
# pages would write them, join the secrets then.
CHILD_AGE = timedelta(days=101)
SECRETS = [
    "Zephyrine",
    "Quillfeather",
    "Wrenfield",
    "Tamsin Oduya",
    "9434765919",
    "9434765870",
    "1998-07-19",
    "19 Jul 1998",
    "19/07/1998",
    "07700 900461",
]
ACCOUNTS = [
    "manager",
    "coord.oxf",
    "assessor.buc",
    "monitor.buc",
    "stats.blind",
    "stats.unblind",
    "pi.buc",
    "chief",
    "outsider",
]


@pytest.fixture
def child_born():
    return today() - CHILD_AGE


@pytest.fixture
def family(world, child_born):
    version = consent_v1(world)
    return enrol(
        world,
        version,
        screening=screen(world, child_date_of_birth=child_born),
        child=PersonIn(given_name="Zephyrine", family_name="Quillfeather", nhs_number="9434765870"),
        parents=[
            PersonIn(
                given_name="Zephyrine",
                family_name="Quillfeather",
                date_of_birth=date(1998, 7, 19),
                nhs_number="9434765919",
                relationship="mother",
                parental_responsibility=True,
            )
        ],
        contact=ContactIn(
            address="4 Wrenfield Mews, Aylesbury",
            phone="07700 900461",
            social_worker_name="Tamsin Oduya",
            social_worker_contact="01296 1",
        ),
        consents=[(1, consent(world, version))],
    )


def api_urls(family) -> list[str]:
    f = f"/api/v1/families/{family.pk}"
    return [
        "/api/v1/families/",
        f"{f}/",
        f"{f}/consents/",
        f"{f}/withdrawals/",
        "/api/v1/screening/",
        f"/api/v1/screening/{family.screening.pk}/",
        "/api/v1/audit/events/?page_size=1000",
        "/api/v1/audit/events/export/",
        "/api/v1/me/",
        "/api/v1/memberships/",
        f"{f}/identity/",
    ]


def page_urls(family) -> list[str]:
    return [
        "/",
        "/families/",
        f"/families/{family.pk}/",
        "/screening/",
        f"/screening/{family.screening.pk}/",
        "/audit/",
        "/audit/export.csv",
        f"/families/{family.pk}/identity/",
        "/consent-versions/",
    ]


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.fixture
def leaks(child_born):
    secrets = [*SECRETS, child_born.isoformat(), f"{child_born:%-d %b %Y}"]
    return lambda text: [s for s in secrets if s in text]


@pytest.mark.parametrize("who", ACCOUNTS)
def test_no_identifying_data_for_anyone_but_the_sites_coordinators(
    world, family, who, caplog, leaks
):
    caplog.set_level(logging.DEBUG)
    user = world.users[who]
    api, page = APIClient(), Client()
    api.force_authenticate(user)
    page.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    seen = {url: body(api.get(url)) for url in api_urls(family)}
    seen |= {url: body(page.get(url)) for url in page_urls(family)}
    assert {url: leaks(text) for url, text in seen.items() if leaks(text)} == {}
    assert leaks(caplog.text) == []


def test_the_sites_coordinator_sees_identity_only_where_they_ask(world, family, caplog, leaks):
    caplog.set_level(logging.DEBUG)
    api, page = APIClient(), Client()
    api.force_authenticate(world.coord_buc)
    page.force_login(world.coord_buc, backend="django.contrib.auth.backends.ModelBackend")
    identity = {f"/api/v1/families/{family.pk}/identity/", f"/families/{family.pk}/identity/"}
    for url in api_urls(family):
        text = body(api.get(url))
        assert bool(leaks(text)) == (url in identity), url
    for url in page_urls(family):
        text = body(page.get(url))
        assert bool(leaks(text)) == (url in identity), url
    assert leaks(caplog.text) == []

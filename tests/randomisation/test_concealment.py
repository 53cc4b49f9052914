"""Blinded roles never learn an arm: not on a page, in an API response, an export, an error
message or a page title. The coordinator learns it on the result and the family's page."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.channels import Channel
from randomisation.services import family_randomise

from ..access import family_at, sealed_test_list

ARM_TEXTS = ["RECONNECT", "USUAL", "Usual care", 'data-testid="arm"']


@pytest.fixture
def randomised(world):
    sealed_test_list(world)
    buc = family_randomise(
        family=family_at(world, "BUC"), actor=world.coord_buc, channel=Channel.COMMAND
    )
    oxf = family_randomise(
        family=family_at(world, "OXF"), actor=world.coord_oxf, channel=Channel.COMMAND
    )
    return buc, oxf


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def everything(world, buc, user) -> dict[str, str]:
    api, page = APIClient(), Client()
    api.force_authenticate(user)
    page.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    family = buc.family
    seen = {
        url: body(api.get(url))
        for url in [
            "/api/v1/allocations/",
            "/api/v1/families/",
            f"/api/v1/families/{family.pk}/",
            "/api/v1/randomisation/lists/",
            f"/api/v1/randomisation/lists/{buc.slot.stratum.rlist_id}/export/",
            "/api/v1/me/",
            "/api/v1/audit/events/",
            "/api/v1/audit/events/export/",
        ]
    }
    seen["POST randomise"] = body(api.post(f"/api/v1/families/{family.pk}/randomise/"))
    seen |= {
        url: body(page.get(url))
        for url in [
            "/",
            "/families/",
            f"/families/{family.pk}/",
            f"/families/{family.pk}/randomise/",
            f"/families/{family.pk}/allocations/{buc.pk}/",
            "/statistics/",
            f"/statistics/lists/{buc.slot.stratum.rlist_id}/export.csv",
            "/screening/",
            "/audit/",
        ]
    }
    return seen


@pytest.mark.parametrize("who", ["assessor.buc", "stats.blind"])
@pytest.mark.requirement("RND-1")
def test_blinded_roles_never_see_an_arm(world, randomised, who):
    buc, _ = randomised
    seen = everything(world, buc, world.users[who])
    leaked = {url: [t for t in ARM_TEXTS if t in text] for url, text in seen.items()}
    assert {url: found for url, found in leaked.items() if found} == {}


def test_blinded_roles_see_that_a_family_was_randomised_but_not_how(world, randomised, api):
    buc, _ = randomised
    rows = api(world.assessor_buc).get("/api/v1/allocations/").json()["results"]
    assert [(r["family_identifier"], r["arm"]) for r in rows] == [(buc.family.identifier, None)]


def test_the_coordinator_learns_the_arm_on_the_result_and_the_family_page(
    world, randomised, page, api
):
    buc, _ = randomised
    client = page(world.coord_buc)
    result = client.get(f"/families/{buc.family.pk}/allocations/{buc.pk}/").content.decode()
    family_page = client.get(f"/families/{buc.family.pk}/").content.decode()
    label = {"RECONNECT": "ReConnect", "USUAL": "Usual care"}[buc.arm]
    assert f"<strong>{label}</strong>" in result and 'data-testid="arm"' in family_page
    assert (
        api(world.coord_buc).get(f"/api/v1/families/{buc.family.pk}/").json()["allocation"]["arm"]
        == buc.arm
    )


@pytest.mark.requirement("RND-1")
def test_the_coordinator_of_another_site_learns_nothing_of_it(world, randomised, api):
    buc, _ = randomised
    rows = api(world.coord_oxf).get("/api/v1/allocations/").json()["results"]
    assert buc.family.identifier not in str(rows)

import pytest
from playwright.sync_api import expect

from randomisation.models import Allocation

from ..access import family_at, sealed_test_list
from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_coordinator_randomises_from_the_familys_page(live_world, browser_page):
    world, page = live_world, browser_page
    sealed_test_list(world)
    family = family_at(world, "BUC")
    sign_in(page, "coord.buc", PASSWORD)
    expect(page.get_by_test_id("test-mode")).to_contain_text("TEST MODE")
    page.goto(f"/families/{family.pk}/")
    page.get_by_test_id("randomise").click()
    confirm = page.get_by_test_id("randomise-confirm")
    expect(confirm).to_contain_text("BUC")
    expect(confirm).to_contain_text("Child protection plan")
    expect(confirm).to_contain_text("Unborn or under 6 months")
    page.get_by_test_id("confirm-randomise").click()
    allocation = Allocation.objects.get()
    label = {"RECONNECT": "ReConnect", "USUAL": "Usual care"}[allocation.arm]
    expect(page.get_by_test_id("arm")).to_contain_text(label)
    expect(page.get_by_test_id("arm")).to_contain_text("TEST MODE")
    page.get_by_role("link", name="Back to the family").click()
    expect(page.get_by_test_id("allocation")).to_contain_text(label)


def test_the_blinded_assessor_sees_no_arm_on_the_familys_page(live_world, browser_page):
    world, page = live_world, browser_page
    sealed_test_list(world)
    family = family_at(world, "BUC")
    from core.channels import Channel
    from randomisation.services import family_randomise

    family_randomise(family=family, actor=world.coord_buc, channel=Channel.COMMAND)
    sign_in(page, "assessor.buc", PASSWORD)
    page.goto(f"/families/{family.pk}/")
    expect(page.get_by_test_id("allocation")).to_contain_text("Randomised")
    expect(page.get_by_test_id("arm")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("Usual care")

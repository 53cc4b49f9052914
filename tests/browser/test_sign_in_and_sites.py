from datetime import timedelta

import pytest
from playwright.sync_api import expect

from core.clock import today
from core.roles import Role
from sites.models import Site, SiteStatus

from ..factories import PASSWORD, MembershipFactory
from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(live_world, browser_page):
    page = browser_page
    sign_in(page, "coord.buc", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    sign_in(page, "coord.buc", PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    expect(page.get_by_test_id("home-site-staff")).to_contain_text("BUC")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Sign in")


def test_the_manager_approves_and_activates_a_site_on_the_pages(live_world, browser_page):
    world, page = live_world, browser_page
    MembershipFactory(
        user=world.pi_oxf,
        trial=world.trial,
        site=world.mkn,
        role=Role.PRINCIPAL_INVESTIGATOR,
        starts_on=today() - timedelta(days=30),
    )
    sign_in(page, "manager", PASSWORD)
    page.goto(f"/sites/{world.mkn.pk}/")
    expect(page.get_by_test_id("site-status")).to_have_text("Proposed")

    # Approve: the step form arrives by htmx; a missing date is refused beside its field.
    page.get_by_test_id("next-step").click()
    form = page.get_by_test_id("status-form")
    form.get_by_label("Ethics approval date").fill((today() - timedelta(days=20)).isoformat())
    form.get_by_role("button", name="Confirm: Approved").click()
    expect(page.locator('[data-field="rnd_approval_date"]')).to_contain_text("R&D approval date")
    form.get_by_label("R&D approval date").fill((today() - timedelta(days=10)).isoformat())
    form.get_by_role("button", name="Confirm: Approved").click()
    expect(page.get_by_test_id("site-status")).to_have_text("Approved")

    # Activating without a principal investigator is refused, and the site stays approved.
    page.get_by_test_id("next-step").click()
    page.get_by_test_id("status-form").get_by_role("button", name="Confirm: Active").click()
    expect(page.get_by_test_id("status-form")).to_contain_text("has no principal investigator")
    assert Site.objects.get(pk=world.mkn.pk).status == SiteStatus.APPROVED

    # Name the principal investigator, then activate.
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Principal investigator").select_option(label=world.pi_oxf.get_full_name())
    page.get_by_role("button", name="Save").click()
    # MKN is approved: its record is complete, so the change needs a reason.
    expect(page.locator('[data-field="reason"]')).to_contain_text("give a reason")
    page.get_by_label("Reason").fill("PI appointed by the sponsor")
    page.get_by_role("button", name="Save").click()
    page.get_by_test_id("next-step").click()
    page.get_by_test_id("status-form").get_by_role("button", name="Confirm: Active").click()
    expect(page.get_by_test_id("site-status")).to_have_text("Active (may recruit)")
    assert Site.objects.get(pk=world.mkn.pk).can_recruit


def test_a_coordinator_cannot_open_another_sites_page(live_world, browser_page):
    world, page = live_world, browser_page
    sign_in(page, "coord.buc", PASSWORD)
    page.goto("/sites/")
    rows = page.get_by_test_id("site-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("BUC")
    response = page.goto(f"/sites/{world.oxf.pk}/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(world.oxf.name)

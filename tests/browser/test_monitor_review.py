import pytest
from django.db import transaction
from playwright.sync_api import expect

from audit.events import EventType
from audit.ledger import record
from audit.models import ReviewSignoff
from core.channels import Channel
from sites.lifecycle import site_update

from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.requirement("MON-1")
def test_a_monitor_reviews_buc_and_signs_it_off(live_world, browser_page):
    world, page = live_world, browser_page
    site_update(
        site=world.buc,
        actor=world.manager,
        channel=Channel.API,
        recruitment_target=44,
        reason="raised at the review",
    )
    site_update(
        site=world.oxf,
        actor=world.manager,
        channel=Channel.API,
        recruitment_target=45,
        reason="OXF change",
    )
    with transaction.atomic():
        for n in range(60):
            record(
                event=EventType.UPDATE,
                actor=world.coord_buc,
                channel=Channel.WEB,
                site=world.buc,
                family="RC-BUC-0001-K",
                changes={"n": [n, n + 1]},
            )

    sign_in(page, "monitor.buc", PASSWORD)
    page.get_by_role("link", name="Audit trail").click()
    rows = page.get_by_test_id("audit-table").locator("tbody tr[data-seq]")
    expect(rows).to_have_count(50)
    expect(page.locator('tr[data-site="OXF"]')).to_have_count(0)

    expect(page.get_by_test_id("pager")).to_contain_text("Showing 1 to 50 of 61")
    page.get_by_test_id("next-page").click()
    expect(rows).to_have_count(11)
    expect(page.get_by_test_id("late-edit")).to_have_count(1)
    expect(page.locator("tr.late-edit")).to_contain_text("raised at the review")

    page.get_by_label("Site").select_option(label=str(world.buc))
    page.get_by_role("button", name="Filter").click()
    page.get_by_test_id("signoff-form").get_by_label("Note").fill("Reviewed at the visit")
    page.get_by_role("button", name="Sign off").click()
    expect(page.get_by_role("status")).to_contain_text("signed off as reviewed")
    expect(page.get_by_test_id("reviewed").first).to_contain_text(
        f"reviewed by {world.monitor_buc.get_full_name()}"
    )
    assert ReviewSignoff.objects.get().note == "Reviewed at the visit"

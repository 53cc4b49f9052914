from datetime import timedelta

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from core.clock import today
from trial.models import Family

from ..access import consent_v1
from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = pytest.mark.browser

ANSWERS = {
    "known_to_social_care": "yes",
    "cp_plan_or_pre_proceedings": "yes",
    "parent_has_capacity": "yes",
    "final_order_made": "no",
    "leaving_area": "no",
}


def test_a_coordinator_takes_a_referral_through_screening_enrolment_and_consent(
    live_world, browser_page
):
    world, page = live_world, browser_page
    consent_v1(world)
    sign_in(page, "coord.buc", PASSWORD)

    page.get_by_role("link", name="Screening").click()
    page.get_by_test_id("new-referral").click()
    form = page.get_by_test_id("screening-form")
    form.get_by_label("Referrer type").select_option("health_visitor")
    form.locator("input[name=child_born][value=yes]").check()
    form.get_by_label("Child date of birth").fill((today() - timedelta(days=200)).isoformat())
    for key, answer in ANSWERS.items():
        form.locator(f"input[name=criterion_{key}][value={answer}]").check()
    form.get_by_role("button", name="Screen").click()
    expect(page.get_by_test_id("screening-outcome")).to_have_text("Eligible and approached")

    page.get_by_test_id("enrol").click()
    form = page.get_by_test_id("enrol-form")
    form.get_by_label("Legal status").select_option("pre_proceedings")
    form.get_by_label("Child given name").fill("Ava")
    form.get_by_label("Child family name").fill("Brightwater")
    form.get_by_label("Parent 1: given name").fill("Orla")
    form.get_by_label("Parent 1: family name").fill("Brightwater")
    form.get_by_label("Parent 1: date of birth").fill("1996-02-11")
    form.get_by_label("Address").fill("7 Canal Side, Aylesbury")
    form.get_by_label("Consent version").select_option(label="consent form v1.0")
    form.get_by_label("Method").select_option("in_person")
    for item in ("take_part", "video", "records", "inform_gp", "future_research"):
        form.locator(f"input[name=item_{item}][value=yes]").check()
    # First with a consent dated tomorrow: refused beside the field, nothing enrolled.
    form.get_by_label("Date of consent").fill((today() + timedelta(days=1)).isoformat())
    form.get_by_role("button", name="Enrol").click()
    expect(page.locator('[data-field="consent_date"]')).to_contain_text("future")
    assert not Family.objects.exists()
    page.get_by_test_id("enrol-form").get_by_label("Date of consent").fill(today().isoformat())
    page.get_by_test_id("enrol-form").get_by_role("button", name="Enrol").click()

    expect(page.locator("h1")).to_contain_text("Family RC-BUC-0001-")
    # Who took consent, by name.
    expect(page.get_by_test_id("consent-history")).to_contain_text(world.coord_buc.get_full_name())
    expect(page.get_by_test_id("consent-history")).to_contain_text("Take part in the trial: yes")
    expect(page.locator("body")).not_to_contain_text("Brightwater")  # not until asked for
    page.get_by_test_id("show-identity").click()
    expect(page.get_by_test_id("identity")).to_contain_text("Orla Brightwater")
    assert AuditEvent.objects.filter(event_type="identity_viewed").count() == 1
    family = Family.objects.get()
    assert family.legal_status == "pre_proceedings" and family.consents.count() == 1

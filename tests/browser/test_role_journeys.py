"""Each role's journey from its work list (the home page): every step starts from the
work-list item that names it, ends on a confirmation read by its words, and the item is gone
from the list afterwards.

The trial manager's journey (invite a user, who sets a password from the emailed link, read
from the test's mail outbox, and signs in) is test_accounts_by_email.py.
"""

import random
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from audit.models import ReviewSignoff
from core.clock import today
from crf.models import Signature
from demo.answers import answers_for
from randomisation.models import Allocation
from trial.models import Family, ScreeningRecord

from ..access import consent_v1, sealed_test_list
from ..crf.conftest import enter, load_forms, randomised
from ..factories import PASSWORD
from .conftest import answer_and_redraw, sign_in

pytestmark = pytest.mark.browser

CRITERIA = {
    "known_to_social_care": "yes",
    "cp_plan_or_pre_proceedings": "yes",
    "parent_has_capacity": "yes",
    "final_order_made": "no",
    "leaving_area": "no",
}
COORDINATOR_BASELINE = ["demographics", "legal_status", "psi4sf", "prfq", "psoc", "core10"]


def work_list(page):
    page.goto("/")
    expect(page.get_by_test_id("worklist")).to_be_visible()


def section(page, key):
    return page.get_by_test_id(f"work-{key}")


def waiting(page) -> int:
    return int(page.get_by_test_id("waiting-count").inner_text())


def confirmed(page, text: str) -> None:
    expect(page.get_by_text(text, exact=True)).to_be_visible()


def fill_crf(page, spec, values) -> None:
    """Answer a form as a person would: by each question's field, waiting for the fields to
    be drawn again after an answer that shows or hides others."""
    controllers = {f.show_if.field for f in spec.fields if f.show_if}
    for f in spec.fields:
        for key in f.slot_keys():
            if key not in values:
                continue
            value = values[key]
            if f.type == "single":
                control = page.locator(f"select[name={key}]")
                act = lambda c=control, v=value: c.select_option(v)  # noqa: E731
            elif f.type == "yes_no":
                control = page.locator(f"input[name={key}][value={'yes' if value else 'no'}]")
                act = control.check
            elif f.type == "multiple":
                for v in value:
                    page.locator(f"input[name={key}][value={v}]").check()
                continue
            else:
                control = page.locator(f"input[name={key}]")
                act = lambda c=control, v=value: c.fill(str(v))  # noqa: E731
            if key in controllers:
                answer_and_redraw(page, act)
            else:
                act()
    # The last answer's check returns before the save: on SQLite a read beside the save can
    # find a table locked.
    page.get_by_role("heading", level=1).click()
    page.wait_for_load_state("networkidle")


def test_the_coordinator_takes_a_referral_to_randomisation_from_the_work_list(
    live_world, browser_page
):
    world, page = live_world, browser_page
    consent_v1(world)
    forms = load_forms(world)
    sealed_test_list(world)
    sign_in(page, "coord.buc", PASSWORD)
    work_list(page)
    expect(section(page, "to_consent")).to_contain_text("Nothing waiting")

    # Screen a referral.
    page.get_by_text("Screen a new referral", exact=True).click()
    form = page.get_by_test_id("screening-form")
    form.get_by_label("Referrer type").select_option("health_visitor")
    form.locator("input[name=child_born][value=yes]").check()
    form.get_by_label("Child date of birth").fill((today() - timedelta(days=200)).isoformat())
    for key, answer in CRITERIA.items():
        form.locator(f"input[name=criterion_{key}][value={answer}]").check()
    form.get_by_role("button", name="Screen").click()
    expect(page.get_by_text(re.compile(r": Eligible and approached\.$"))).to_be_visible()
    screening = ScreeningRecord.objects.get()
    confirmed(page, f"{screening.identifier}: Eligible and approached.")

    # Record the consent (and enrol), from the item the screening put on the list.
    work_list(page)
    item = section(page, "to_consent").get_by_role(
        "link", name="Eligible and approached: record the consent"
    )
    expect(section(page, "to_consent")).to_contain_text(screening.identifier)
    item.click()
    form = page.get_by_test_id("enrol-form")
    form.get_by_label("Legal status").select_option("cp_plan")
    form.get_by_label("Child given name").fill("Ava")
    form.get_by_label("Child family name").fill("Morgan")
    form.get_by_label("Parent 1: given name").fill("Jade")
    form.get_by_label("Parent 1: family name").fill("Morgan")
    form.get_by_label("Parent 1: date of birth").fill("1999-04-03")
    form.get_by_label("Address").fill("12 Mill Lane, Aylesbury")
    form.get_by_label("Consent version").select_option(label="consent form v1.0")
    form.get_by_label("Method").select_option("in_person")
    for item_key in ("take_part", "video", "records", "inform_gp", "future_research"):
        form.locator(f"input[name=item_{item_key}][value=yes]").check()
    form.get_by_label("Date of consent").fill(today().isoformat())
    form.get_by_role("button", name="Enrol").click()
    expect(page.get_by_text(re.compile(r"^Enrolled as RC-BUC-"))).to_be_visible()
    family = Family.objects.get()
    confirmed(page, f"Enrolled as {family.identifier}.")

    work_list(page)
    expect(section(page, "to_consent")).to_contain_text("Nothing waiting")
    due = section(page, "forms_due")
    # The baseline form another role enters is named with who enters it, and not linked.
    care = forms["care_index"].title
    expect(due).to_contain_text(f"{care}, Baseline")
    expect(due).to_contain_text("outcome assessor enters this form")
    expect(due.get_by_role("link", name=f"{care}, Baseline")).to_have_count(0)
    expect(section(page, "to_randomise")).to_contain_text("Nothing waiting")

    # Enter each baseline form the coordinator enters, each from its own item.
    for n, key in enumerate(COORDINATOR_BASELINE):
        definition = forms[key]
        name = f"{definition.title}, Baseline"
        before = waiting(page)
        section(page, "forms_due").get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(definition.title)
        fixed = {"child_unborn": False, "status": "cp_plan"}
        values = answers_for(definition.spec, today(), random.Random(n), fixed=fixed)
        fill_crf(page, definition.spec, values)
        page.get_by_role("button", name="Save as complete").click()
        confirmed(page, f"{definition.title} saved.")
        work_list(page)
        expect(section(page, "forms_due").get_by_role("link", name=name, exact=True)).to_have_count(
            0
        )
        assert waiting(page) == before - 1

    # The assessor's CARE-Index coding completes the baseline; then randomise.
    enter(world, family, "care_index", "baseline", actor=world.assessor_buc)
    work_list(page)
    expect(section(page, "forms_due")).not_to_contain_text(family.identifier)
    section(page, "to_randomise").get_by_role("link", name="Baseline complete: randomise").click()
    expect(page.get_by_test_id("randomise-confirm")).to_contain_text("Child protection plan")
    page.get_by_role("button", name="Confirm and randomise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{family.identifier} is randomised")
    allocation = Allocation.objects.get(family=family)
    label = {"RECONNECT": "ReConnect", "USUAL": "Usual care"}[allocation.arm]
    expect(page.get_by_test_id("arm")).to_contain_text(label)

    work_list(page)
    expect(section(page, "to_randomise")).to_contain_text("Nothing waiting")
    expect(page.get_by_test_id("worklist")).not_to_contain_text("Baseline complete")


def test_the_assessor_clears_an_assessment_from_the_work_list(live_world, browser_page):
    world, page = live_world, browser_page
    family = randomised(world, days_ago=182)
    definition = load_forms(world)["assessor_guess"]
    name = f"{definition.title}, 6 months"
    sign_in(page, "assessor.buc", PASSWORD)
    work_list(page)
    due = section(page, "forms_due")
    expect(due.get_by_role("link", name=name)).to_have_count(1)
    before_links = due.get_by_role("link").count()
    before = waiting(page)

    due.get_by_role("link", name=name).click()
    values = answers_for(
        definition.spec,
        today(),
        random.Random(1),
        # Not unblinded: an assessor who learned the arm is refused the family's forms.
        fixed={"guess": "USUAL", "confidence": 3, "unblinded": False},
    )
    fill_crf(page, definition.spec, values)
    page.get_by_role("button", name="Save as complete").click()
    confirmed(page, f"{definition.title} saved.")

    work_list(page)
    expect(section(page, "forms_due").get_by_role("link", name=name)).to_have_count(0)
    expect(section(page, "forms_due").get_by_role("link")).to_have_count(before_links - 1)
    assert waiting(page) == before - 1
    assert family.responses.filter(form="assessor_guess", visit="month_6").exists()


def test_the_monitor_signs_off_a_sites_events_from_the_work_list(live_world, browser_page):
    world, page = live_world, browser_page
    randomised(world)
    sign_in(page, "monitor.buc", PASSWORD)
    work_list(page)
    before = waiting(page)
    events = section(page, "events_to_review")
    events.get_by_role("link", name=re.compile(r"^\d+ events? at BUC to review$")).click()
    # The item opens the trail filtered to the site, so the sign-off is offered at once.
    page.get_by_test_id("signoff-form").get_by_label("Note").fill("Reviewed at the visit")
    page.get_by_role("button", name="Sign off").click()
    expect(page.get_by_text(re.compile(r"of BUC signed off as reviewed\.$"))).to_be_visible()
    signoff = ReviewSignoff.objects.get()
    assert signoff.site == world.buc and signoff.note == "Reviewed at the visit"
    confirmed(
        page,
        f"Events #{signoff.first_seq} to #{signoff.last_seq} of BUC signed off as reviewed.",
    )

    work_list(page)
    expect(section(page, "events_to_review")).to_contain_text("Nothing waiting")
    expect(section(page, "events_to_review").get_by_role("link")).to_have_count(0)
    assert waiting(page) == before - 1


def test_the_pi_signs_a_casebook_from_the_work_list(live_world, browser_page):
    world, page = live_world, browser_page
    family = randomised(world)
    sign_in(page, "pi.buc", PASSWORD)
    work_list(page)
    to_sign = section(page, "casebooks_to_sign")
    expect(to_sign).to_contain_text(family.identifier)
    before = waiting(page)
    to_sign.get_by_role("link", name="Sign the casebook").click()
    page.get_by_label("Re-enter your password to sign").fill(PASSWORD)
    page.get_by_role("button", name="Sign", exact=True).click()
    confirmed(page, "Casebook signed.")
    assert Signature.objects.filter(family=family, signer=world.pi_buc).count() == 1

    work_list(page)
    expect(section(page, "casebooks_to_sign")).to_contain_text("Nothing waiting")
    expect(page.get_by_test_id("worklist")).not_to_contain_text(family.identifier)
    assert waiting(page) == before - 1

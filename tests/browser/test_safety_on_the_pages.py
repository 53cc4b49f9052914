"""A safety event on the pages, as each role meets it: the site's coordinator reports a
serious adverse event on the report form (the seriousness criteria drawn once the kind is
answered), the site's PI signs the assessment with their password, and the chief
investigator finds the event in the safety listing waiting for their review, reviews it
and sees it become reportable to the ethics committee. Each new page passes axe."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from safety.models import SafetyEvent, SafetyStatus

from ..crf.conftest import randomised
from ..factories import PASSWORD
from .conftest import answer_and_redraw, sign_in

pytestmark = pytest.mark.browser
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_clean(page) -> None:
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    problems = [
        f"{page.url}: {v['id']} at {node['target']}"
        for v in result.response["violations"]
        for node in v["nodes"][:3]
    ]
    assert not problems, "\n".join(problems)


def signed_in_afresh(page, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username, PASSWORD)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_sae_reported_assessed_by_the_pi_and_listed_for_the_chief_investigator(
    live_world, browser_page
):
    world, page = live_world, browser_page
    family = randomised(world, days_ago=40)
    aware = timezone.localtime(timezone.now() - timedelta(hours=3))
    on = aware.date().isoformat()

    # The coordinator reports it.
    signed_in_afresh(page, "coord.buc")
    page.goto(f"/safety/report/{family.pk}/")
    form = page.get_by_test_id("safety-report-form")
    expect(form.locator("input[name=seriousness]")).to_have_count(0)  # not before the kind
    form.get_by_label("Date of the event").fill(on)
    form.get_by_label("Date the site learned of it").fill(on)
    answer_and_redraw(page, lambda: form.get_by_label("Kind").select_option("sae"))
    form.get_by_label("Hospitalisation or its prolongation").check()
    form.get_by_label("Who").select_option("parent")
    form.get_by_label("Related to the trial's intervention").select_option("unlikely")
    form.get_by_label("Expectedness").select_option("expected")
    form.locator("input[name=safeguarding_referral][value=no]").check()
    form.get_by_label("Outcome").select_option("ongoing")
    form.get_by_label("Brief description (no names)").fill(
        "Admitted to the crisis unit the evening after a group session."
    )
    form.get_by_label("Time the site learned of it").fill(f"{aware:%H:%M}")
    page.get_by_role("heading", level=1).click()  # the last answer's check, before the save
    page.wait_for_load_state("networkidle")
    axe_clean(page)
    form.get_by_role("button", name="Report the event").click()

    expect(page.get_by_text("Safety event reported.", exact=False)).to_be_visible()
    event = SafetyEvent.objects.get(family=family)
    assert page.url.endswith(f"/safety/{event.pk}/")
    expect(page.get_by_test_id("safety-status")).to_have_text("Waiting for the PI's assessment")
    assert event.reported_by == world.coord_buc
    assert event.response.values["safeguarding_referral"] is False
    assert (
        timezone.localtime(event.aware_at).strftime("%Y-%m-%d %H:%M") == f"{aware:%Y-%m-%d %H:%M}"
    )
    assert event.response.values["seriousness"] == ["hospitalisation"]
    clock = page.get_by_test_id("safety-clock")
    expect(clock.locator("tr[data-step=report]")).to_contain_text("On time")
    expect(clock.locator("tr[data-step=assess]")).to_contain_text("Due")
    expect(page.get_by_test_id("assess-form")).to_have_count(0)  # the PI's step, not theirs
    axe_clean(page)

    # The PI assesses it: a wrong password signs nothing, the right one signs.
    signed_in_afresh(page, "pi.buc")
    page.goto(f"/safety/{event.pk}/")
    assess = page.get_by_test_id("assess-form")
    expect(assess.get_by_label("Hospitalisation or its prolongation")).to_be_checked()
    assess.get_by_label("Related to the trial's intervention").select_option("possible")
    assess.get_by_label("Expectedness").select_option("unexpected")
    assess.get_by_label("Your password, as your signature").fill("not-my-password")
    assess.get_by_role("button", name="Sign the assessment").click()
    expect(page.get_by_text("That is not your password").first).to_be_visible()
    event.refresh_from_db()
    assert event.status == SafetyStatus.REPORTED and event.assessed_at is None

    assess = page.get_by_test_id("assess-form")
    assess.get_by_label("Related to the trial's intervention").select_option("possible")
    assess.get_by_label("Expectedness").select_option("unexpected")
    assess.get_by_label("Your password, as your signature").fill(PASSWORD)
    assess.get_by_role("button", name="Sign the assessment").click()
    expect(page.get_by_text("Assessment signed.", exact=True)).to_be_visible()
    expect(page.get_by_test_id("safety-status")).to_have_text(
        "Waiting for the chief investigator's review"
    )
    event.refresh_from_db()
    assert event.assessed_by == world.pi_buc and event.reportable
    assert event.response.values["relatedness"] == "possible"
    expect(page.get_by_test_id("safety-facts")).to_contain_text("Signed by")

    # The chief investigator finds it in the listing, waiting for their review.
    signed_in_afresh(page, "chief")
    page.goto("/safety/")
    row = page.get_by_test_id("safety-row").filter(has_text=family.identifier)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Waiting for the chief investigator's review")
    expect(row).to_contain_text("Possible")
    expect(row).to_contain_text("BUC")
    expect(page.get_by_test_id("safety-counts")).to_contain_text("1 event, 1 open")
    axe_clean(page)

    # ... follows it, reviews it, and the ethics committee's report is due.
    row.get_by_role("link", name=family.identifier, exact=False).click()
    review = page.get_by_test_id("review-form")
    review.get_by_label("Related to the trial's intervention").select_option("probable")
    review.get_by_label("What the review found").fill("Probably related: the session's topic.")
    review.get_by_role("button", name="Record the review").click()
    expect(page.get_by_text("Review recorded.", exact=True)).to_be_visible()
    expect(page.get_by_test_id("safety-status")).to_have_text(
        "Reviewed: follow-up until an outcome"
    )
    expect(page.get_by_test_id("safety-facts")).to_contain_text(
        "Reportable (related and unexpected)"
    )
    expect(page.get_by_test_id("safety-clock").locator("tr[data-step=rec]")).to_contain_text("Due")
    event.refresh_from_db()
    assert (event.reviewed_by, event.ci_relatedness) == (world.chief, "probable")
    assert list(
        AuditEvent.objects.filter(family=family.identifier, event_type__startswith="sae_")
        .order_by("seq")
        .values_list("event_type", flat=True)
    ) == ["sae_reported", "sae_assessment_refused", "sae_assessed", "sae_reviewed"]


def test_another_sites_family_and_event_answer_404(live_world, browser_page):
    world, page = live_world, browser_page
    family = randomised(world, "OXF")
    signed_in_afresh(page, "coord.buc")
    assert page.goto(f"/safety/report/{family.pk}/").status == 404


def test_a_safeguarding_incident_reported_with_its_referral(live_world, browser_page):
    world, page = live_world, browser_page
    family = randomised(world, days_ago=40)
    aware = timezone.localtime(timezone.now() - timedelta(hours=1))
    on = aware.date().isoformat()
    signed_in_afresh(page, "coord.buc")
    page.goto(f"/safety/report/{family.pk}/")
    form = page.get_by_test_id("safety-report-form")
    form.get_by_label("Date of the event").fill(on)
    form.get_by_label("Date the site learned of it").fill(on)
    answer_and_redraw(page, lambda: form.get_by_label("Kind").select_option("safeguarding"))
    expect(form.locator("input[name=seriousness]")).to_have_count(0)
    form.get_by_label("Who").select_option("child")
    form.get_by_label("Related to the trial's intervention").select_option("unrelated")
    form.get_by_label("Expectedness").select_option("expected")
    form.locator("input[name=safeguarding_referral][value=yes]").check()
    form.get_by_label("Outcome").select_option("ongoing")
    form.get_by_label("Brief description (no names)").fill("Bruising seen at nursery.")
    form.get_by_label("Time the site learned of it").fill(f"{aware:%H:%M}")
    form.get_by_label("Safeguarding referral made to").fill("Children's social care (MASH)")
    form.get_by_label("Date of the safeguarding referral").fill(on)
    page.get_by_role("heading", level=1).click()
    page.wait_for_load_state("networkidle")
    form.get_by_role("button", name="Report the event").click()
    expect(page.get_by_text("Safety event reported.", exact=False)).to_be_visible()
    event = SafetyEvent.objects.get(family=family)
    assert (event.kind, event.referral_to) == ("safeguarding", "Children's social care (MASH)")
    assert event.referral_on.isoformat() == on
    expect(page.get_by_test_id("safety-facts")).to_contain_text(
        "Made to Children's social care (MASH)"
    )

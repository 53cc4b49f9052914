"""The statistician reads the lock-readiness report, follows a blocker's link to its form,
and, once nothing blocks it, locks the trial with their password."""

import re

import pytest
from playwright.sync_api import expect

from core.channels import Channel
from crf.models import Query
from crf.queries import query_close, query_raise
from lock.models import DataLock

from ..dataset.conftest import ready_family
from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_statistician_reads_the_report_and_locks_with_the_password(live_world, browser_page):
    world, page = live_world, browser_page
    family = ready_family(world)
    response = family.responses.get(visit="baseline", form="core10")
    # One blocker: an open query on the CORE-10.
    query = query_raise(
        response=response,
        field="item_3",
        text="Check item 3.",
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )
    sign_in(page, "stats.blind", PASSWORD)
    page.get_by_role("link", name="Lock", exact=True).click()
    expect(page.get_by_test_id("blocked")).to_contain_text("1 to do")
    link = page.get_by_test_id("blockers-open_query").get_by_role("link")
    expect(link).to_contain_text('query on "CORE-10 item 3" is open')
    link.click()
    expect(page).to_have_url(re.compile(rf"/families/{family.pk}/responses/{response.pk}/$"))
    query_close(query=query, actor=world.monitor_buc, channel=Channel.COMMAND, text="Checked.")
    assert not Query.objects.exclude(status="closed").exists()
    page.goto("/lock/")
    expect(page.get_by_test_id("ready")).to_be_visible()
    form = page.get_by_test_id("lock-form")
    form.get_by_label("Password").fill("not it")
    form.get_by_role("button").click()
    # Once in the error summary, linked to the field, and once beside the field.
    expect(page.get_by_test_id("error-summary").get_by_role("link")).to_contain_text(
        "That is not your password"
    )
    expect(page.locator("[data-field=password]")).to_contain_text("That is not your password")
    page.get_by_test_id("lock-form").get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("lock-form").get_by_role("button").click()
    expect(page.get_by_test_id("locks")).to_contain_text("v1 (whole trial)")
    expect(page.get_by_test_id("locks")).to_contain_text(world.stats_blind.get_full_name())
    assert DataLock.objects.get().is_open


def test_the_statistician_locks_then_watches_the_export_and_downloads_the_bundle(
    live_world, browser_page, tmp_path
):
    import json
    import zipfile

    from dataset.exporting import export_build, export_request
    from dataset.models import Export

    world, page = live_world, browser_page
    family = ready_family(world)
    sign_in(page, "stats.unblind", PASSWORD)
    page.get_by_role("link", name="Lock", exact=True).click()
    expect(page.get_by_test_id("ready")).to_be_visible()
    page.get_by_test_id("lock-form").get_by_label("Password").fill(PASSWORD)
    page.get_by_test_id("lock-form").get_by_role("button").click()
    expect(page.get_by_test_id("locks")).to_contain_text("v1 (whole trial)")

    # Asked for on the page: the job runs as the request ends; the page shows it done.
    page.get_by_role("link", name="Exports").click()
    form = page.get_by_test_id("export-form")
    form.get_by_label("Kind").select_option("blinded")
    form.get_by_role("button").click()
    expect(page.get_by_test_id("export-status")).to_have_text("Ready")
    with page.expect_download() as download:
        page.get_by_test_id("download").click()
    saved = tmp_path / "bundle.zip"
    download.value.save_as(saved)
    manifest = json.loads(zipfile.ZipFile(saved).read("MANIFEST.json"))
    assert manifest["state"] == "locked v1" and manifest["kind"] == "blinded"
    assert manifest["families"] == 1
    assert family.identifier in zipfile.ZipFile(saved).read("families.csv").decode()

    # A job still waiting for a worker: the page polls it and shows the download once done.
    waiting = export_request(
        trial=world.trial,
        actor=world.stats_unblind,
        channel=Channel.COMMAND,
        blinded=True,
        interim=True,
        enqueue=False,
    )
    page.goto(f"/exports/{waiting.pk}/")
    expect(page.get_by_test_id("export-status")).to_have_text("Queued")
    expect(page.get_by_test_id("download")).to_have_count(0)
    export_build(waiting.pk)
    expect(page.get_by_test_id("export-status")).to_have_text("Ready")
    expect(page.get_by_test_id("download")).to_contain_text(
        Export.objects.get(pk=waiting.pk).bundle_id
    )

"""The trial manager reads the live CONSORT diagram and follows a number to the records
behind it; the unblinded statistician makes the closed DMC report and opens its PDF."""

import re
import shutil
import subprocess

import pytest
from PIL import Image
from playwright.sync_api import expect

from ..access import crf_family, open_screening
from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_the_manager_follows_a_consort_number_to_its_listing(live_world, browser_page):
    world, page = live_world, browser_page
    randomised = [crf_family(world, "BUC"), crf_family(world, "OXF")]
    open_screening(world, "BUC")  # a referral still being decided
    sign_in(page, "manager", PASSWORD)
    page.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_role("link", name="CONSORT flow diagram").click()
    expect(page.get_by_test_id("consort-diagram").locator("svg")).to_be_visible()
    number = page.get_by_test_id("consort-table").locator("a[data-node='randomised']")
    expect(number).to_have_text("2")
    number.click()
    expect(page).to_have_url(re.compile(r"/reports/consort/randomised/"))
    rows = page.get_by_test_id("listing").locator("tbody tr")
    expect(rows).to_have_count(2)
    for family in randomised:
        expect(page.get_by_test_id("listing")).to_contain_text(family.identifier)


@pytest.mark.pdf
def test_the_unblinded_statistician_makes_the_closed_dmc_report_and_opens_it(
    live_world, browser_page, tmp_path
):
    world, page = live_world, browser_page
    crf_family(world, "BUC")
    sign_in(page, "stats.unblind", PASSWORD)
    page.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_role("link", name="Data monitoring committee report").click()
    # Tasks run in the server's process here, so the click's navigation waits for the build
    # (about 5 s, 10 s on a busy machine): as long a wait as for the status below.
    page.get_by_test_id("make-closed").click(timeout=60_000)
    expect(page.get_by_test_id("dmc-status")).to_have_text("Ready", timeout=60_000)
    with page.expect_download() as download:
        page.get_by_test_id("download").click()
    pdf = tmp_path / "dmc.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    # The first page, drawn as a reader would see it, is not blank.
    subprocess.run(
        [
            shutil.which("pdftoppm"),
            "-png",
            "-r",
            "40",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    image = Image.open(tmp_path / "page.png").convert("L")
    dark = sum(image.histogram()[:200])
    assert dark > image.width * image.height * 0.005, "the first page is blank"

"""Two-factor sign-in in the browser: a site coordinator signs in with their password, is
taken to enrol, sets up the app from the key the page shows (the test computes the app's
code from it), sees their recovery codes, signs out, and signs in again with a code. Each
page passes axe; the Content Security Policy is watched by the browser tests' conftest."""

from base64 import b32decode

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import override_settings
from django_otp.oath import totp
from playwright.sync_api import expect

from audit.models import AuditEvent

from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.requirement("ACC-2")]
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_clean(page) -> None:
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    problems = [
        f"{page.url}: {v['id']} at {node['target']}"
        for v in result.response["violations"]
        for node in v["nodes"][:3]
    ]
    assert not problems, "\n".join(problems)


def app_code(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app set up with the typed key shows (RFC 6238, SHA-1, 30 s)."""
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key, drift=steps_ahead):06d}"


@pytest.fixture
def asked():
    # The live server runs in this process: the setting holds for its requests too.
    with override_settings(TWO_FACTOR_WAIVED=False):
        yield


def test_a_coordinator_enrols_a_second_factor_and_signs_in_with_it(asked, live_world, browser_page):
    page = browser_page
    sign_in(page, "coord.buc", PASSWORD)
    expect(page.locator("h1")).to_have_text("Set up two-factor sign-in")
    expect(page.get_by_test_id("second-factor-required")).to_be_visible()
    qr = page.get_by_test_id("second-factor-qr")
    expect(qr).to_be_visible()
    # The QR code is an image from this site (no data: URI): it loads under the policy.
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=second-factor-qr]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    axe_clean(page)

    secret = page.get_by_test_id("second-factor-secret").inner_text()
    page.get_by_label("Code from your app").fill("000000" if app_code(secret) != "000000" else "1")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("not right")

    page.get_by_label("Code from your app").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("enrolled")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    axe_clean(page)
    page.get_by_test_id("continue").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Sign in")
    sign_in(page, "coord.buc", PASSWORD)
    expect(page.locator("h1")).to_have_text("Enter your code")
    axe_clean(page)
    # The next 30 seconds' code: the one just used to enrol is spent.
    page.get_by_label("Code").fill(app_code(secret, 1))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    expect(page.get_by_test_id("home-site-staff")).to_contain_text("BUC")
    assert AuditEvent.objects.filter(
        event_type="second_factor_verified", actor_username="coord.buc"
    ).exists()

"""The Content Security Policy in a real browser: every page carries it, the browser reports
nothing it blocked on the pages (the conftest's watch fails any browser test that sees a
violation), and the watch itself catches what the policy blocks."""

import pytest
from playwright.sync_api import expect

from ..factories import PASSWORD
from ..test_csp import POLICY, directives
from . import conftest
from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_each_page_carries_the_policy_with_exactly_its_directives(live_world, browser_page):
    page = browser_page
    answer = page.goto("/accounts/login/")
    assert directives(answer.headers["content-security-policy"]) == POLICY
    sign_in(page, "coord.buc", PASSWORD)
    for url in ("/", "/families/", "/screening/", "/reports/"):
        answer = page.goto(url)
        assert answer.status == 200, url
        assert directives(answer.headers["content-security-policy"]) == POLICY, url


def test_the_watch_reports_an_inline_style_an_inline_script_and_an_outside_image(
    live_world, browser_page
):
    page = browser_page
    sign_in(page, "coord.buc", PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    page.evaluate(
        """() => {
        document.body.insertAdjacentHTML("beforeend", '<p style="color: red">styled</p>');
        const s = document.createElement("script");
        s.textContent = "document.title = 'ran'";
        document.body.append(s);
        const i = document.createElement("img");
        i.src = "https://example.invalid/pixel.png";
        document.body.append(i);
    }"""
    )
    page.wait_for_timeout(300)  # the reports arrive after the blocked acts
    seen = "\n".join(conftest.csp_violations)
    conftest.csp_violations.clear()  # expected here: the test's own teardown check stays clean
    assert "style-src-attr blocked inline" in seen, seen
    assert "script-src-elem blocked inline" in seen, seen
    assert "img-src blocked https://example.invalid/pixel.png" in seen, seen
    assert page.title() != "ran"


def test_a_filter_still_applies_as_soon_as_it_is_changed(live_world, browser_page):
    world, page = live_world, browser_page
    sign_in(page, "manager", PASSWORD)
    page.goto("/screening/")
    with page.expect_navigation():
        page.select_option("#site-filter", str(world.buc.pk))
    assert f"site={world.buc.pk}" in page.url
    page.goto("/people/")
    with page.expect_navigation():
        page.check("#show-ended")
    assert "ended=1" in page.url


def test_the_api_documentation_works_with_data_images_alone_allowed_besides(
    live_world, browser_page
):
    page = browser_page
    sign_in(page, "coord.buc", PASSWORD)
    answer = page.goto("/api/docs/")
    policy = directives(answer.headers["content-security-policy"])
    assert policy == {**POLICY, "img-src": ["'self'", "data:"]}
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)

    page.get_by_role("button", name="GET /api/v1/sites/").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    # ReDoc would break the policy (inline styles, an outside image): its address leads here.
    page.goto("/api/redoc/")
    assert page.url.endswith("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()


def test_the_admin_works_under_the_policy(live_world, browser_page):
    world, page = live_world, browser_page
    sign_in(page, "manager", PASSWORD)
    answer = page.goto("/admin/")
    assert directives(answer.headers["content-security-policy"]) == POLICY
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(f"/admin/sites/site/{world.buc.pk}/change/")
    expect(page.locator("#site_form")).to_be_visible()
    page.goto("/admin/sites/site/")
    expect(page.locator("#result_list")).to_be_visible()

import os

import pytest

from ..conftest import CHROMIUM, World


@pytest.fixture(scope="module")
def _sync_orm_beside_playwright():
    # Playwright's sync API runs an event loop in this thread while the browser is open; the
    # test's own ORM calls (setting up and checking data) are still synchronous and safe.
    # Set for these modules only, from before the browser opens until after it closes.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="module")
def chromium(_sync_orm_beside_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_world(_sync_orm_beside_playwright, transactional_db) -> World:
    return World()


@pytest.fixture
def browser_page(chromium, live_server):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def answer_and_redraw(page, act) -> None:
    """Give an answer that shows or hides other questions, and wait until the form's fields
    are drawn again: an answer typed into the old fields while the new ones are on their way
    would be lost when they replace them."""
    page.evaluate("document.getElementById('fields').dataset.stale = 'yes'")
    with page.expect_response(lambda r: "/preview/" in r.url):
        act()
    page.wait_for_function(
        "() => { const f = document.getElementById('fields');"
        " return f && !f.dataset.stale"
        " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling'); }"
    )

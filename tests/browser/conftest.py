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


# Every page a browser test opens reports what its Content Security Policy blocked: the
# browser fires `securitypolicyviolation` at the document, and this script, run before any of
# the page's own, passes each one to the test (a binding survives the page's navigations).
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation({
    page: e.documentURI, directive: e.effectiveDirective, blocked: e.blockedURI,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample,
  });
}, true);
"""
# What the pages' policy blocked during the running test: the binding's reports, and the
# console's "Refused to ..." lines in case a report was lost to a page closing.
csp_violations: list[str] = []


def _watch_csp(context) -> None:
    def reported(source, v: dict) -> None:
        where = f"{v['source']}:{v['line']}" if v.get("source") else ""
        sample = f" ({v['sample'][:60]!r})" if v.get("sample") else ""
        csp_violations.append(
            f"{v['page']}: {v['directive']} blocked {v['blocked'] or 'inline'}"
            f"{sample} {where}".rstrip()
        )

    def console(message) -> None:
        if "Content Security Policy" in message.text:
            csp_violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.expose_binding("__cspViolation", reported)
    context.add_init_script(WATCH_CSP)
    context.on("console", console)


class _WatchedBrowser:
    """The browser, whose every context watches for Content Security Policy violations."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        _watch_csp(context)
        return context

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def chromium(_sync_orm_beside_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield _WatchedBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def no_csp_violations():
    """A browser test fails if any page it visited broke the Content Security Policy, naming
    the page, the directive and what was blocked. Autouse, so it is torn down after the test's
    own browser contexts are closed and every report has arrived."""
    csp_violations.clear()
    yield
    seen, csp_violations[:] = list(dict.fromkeys(csp_violations)), []
    if seen:
        pytest.fail(
            f"{len(seen)} Content Security Policy violation(s):\n" + "\n".join(seen[:30]),
            pytrace=False,
        )


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

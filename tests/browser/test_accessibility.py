"""Accessibility as each demo role: axe-core (the copy axe-playwright-python ships) run on
every kind of page reached by following links from the home page, at WCAG 2.2 levels A and
AA; the test fails listing page, rule and element. Every kind of page is also checked for
sideways scrolling at a phone's width."""

import re
from collections import deque

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import TransactionTestCase

from demo.seed import DEMO_PASSWORD, seed

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("accessibility")]
ROLES = ["coord.buc", "assessor.buc", "pi.buc", "monitor", "manager", "stats.blind", "chief"]
# Walked from as well as the home page: the safety listing and emergency unblinding, which
# no menu names (a role that may not read them is answered 403 and they are skipped).
ALSO_FROM = ["/safety/", "/safety/unblinding/"]
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
NOT_PAGES = ("/accounts/logout", "/static/", "/api/", "/admin/")
FILES = (".csv", ".svg", ".pdf", "/download/")


def kind_of(url: str) -> str:
    """Pages of one kind differ only in their ids: one of each is enough for axe."""
    return re.sub(r"\d+", "N", url.split("?")[0])


@pytest.fixture(scope="module")
def demo(_sync_orm_beside_playwright, django_db_setup, django_db_blocker):
    """The demo seeded once for every role's walk, and committed, since the live server reads
    it on a connection of its own; the tables are emptied after the last walk as they are after
    any transactional test (TransactionTestCase's own set-up and tear-down). The walks only
    read pages, so no role's walk sees another's writes but its sign-in."""
    with django_db_blocker.unblock():
        case = TransactionTestCase(methodName="__init__")
        case._pre_setup()
        seed(log=lambda *_: None)
    yield
    with django_db_blocker.unblock():
        case._post_teardown()


@pytest.fixture
def transactional_db(demo, django_db_blocker):
    """pytest-django's, which the live server asks for, replaced in this module: the database
    open to the test, but not emptied after each role's walk (the demo fixture empties it)."""
    with django_db_blocker.unblock():
        yield


def walk(page, live_server):
    """Every kind of page reachable from the home page, once each."""
    seen, queue = {"/", *ALSO_FROM}, deque(["/", *ALSO_FROM])
    kinds = set()
    while queue:
        url = queue.popleft()
        if kind_of(url) in kinds or url.split("?")[0].endswith(FILES):
            continue
        kinds.add(kind_of(url))
        answer = page.goto(url)
        if answer is None or answer.status != 200:
            continue
        yield url
        for link in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href'))"
        ):
            if link.startswith("/") and not link.startswith(NOT_PAGES) and link not in seen:
                seen.add(link)
                queue.append(link.split("#")[0])


@pytest.mark.parametrize("username", ROLES)
def test_every_kind_of_page_passes_axe_and_fits_a_phone(demo, chromium, live_server, username):
    axe = Axe()
    problems = []
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, username, DEMO_PASSWORD)
    pages = 0
    for url in walk(page, live_server):
        pages += 1
        # Only the violations in full: axe otherwise returns every node that passed too.
        result = axe.run(page, options=AXE_OPTIONS)
        for v in result.response["violations"]:
            for node in v["nodes"][:3]:
                problems.append(f"{url}: {v['id']} ({v['impact']}) at {node['target']}")
        wide = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if wide > 0:
            problems.append(f"{url}: {wide} px wider than a 390 px phone")
    context.close()
    assert pages > 10, pages
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])

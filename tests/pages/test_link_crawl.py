"""No dead ends: as each demo role, every link on every page reachable from the home page
(and every htmx fetch) answers 200, or a deliberate redirect to a page that does; none
answers 403 or 404. A form or action the person cannot use is not linked: the page says
who can."""

import re
from collections import deque

import pytest
from django.db import connections, transaction
from django.test import Client

from demo.seed import seed
from sites.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("link-crawl")]
ROLES = [
    "coord.buc",
    "assessor.buc",
    "pi.buc",
    "monitor",
    "manager",
    "stats.blind",
    "stats.unblind",
]
LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')
# Not pages: signing out, files, the API and its documentation, the admin (its own tests).
NOT_PAGES = ("/accounts/logout", "/static/", "/api/", "/admin/")
FILES = (".csv", "/download/")


@pytest.fixture(scope="module")
def _demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        outer._from_testcase = True
    try:
        with django_db_blocker.unblock():
            seed(log=lambda *_: None)
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            connections["default"].close_if_unusable_or_obsolete()


def crawl(user) -> tuple[int, list[str]]:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    seen, queue, dead = {"/"}, deque([("/", "")]), []
    while queue:
        url, found_on = queue.popleft()
        answer = client.get(url, follow=True)
        if answer.status_code != 200:
            dead.append(f"{url} answers {answer.status_code} (linked from {found_on})")
            continue
        if url.endswith(FILES) or "text/html" not in answer.get("Content-Type", ""):
            continue
        for link in LINK.findall(answer.content.decode()):
            link = link.replace("&amp;", "&")
            if link.startswith(NOT_PAGES) or link in seen:
                continue
            seen.add(link)
            queue.append((link, url))
    return len(seen), dead


@pytest.mark.parametrize("username", ROLES)
def test_no_page_links_to_a_refusal_or_a_missing_page(_demo, db, username):
    user = Membership.objects.filter(user__username=username).first().user
    pages, dead = crawl(user)
    assert pages > 100, pages  # the crawl reached the demo's families, forms and sites
    assert not dead, f"{len(dead)} dead links, e.g.:\n" + "\n".join(dead[:20])

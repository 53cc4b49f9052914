"""The demo trial, seeded once for a test module, and a crawl of every page a user reaches
from the home page by following its links (and htmx fetches), as the pages' tests share them."""

import re
from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from django.test import Client

from demo.seed import seed

from ..conftest import module_transaction

# The demo's accounts, one a role.
ROLES = [
    "coord.buc",
    "assessor.buc",
    "pi.buc",
    "monitor",
    "manager",
    "stats.blind",
    "stats.unblind",
    "chief",
]
LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')
# Not pages: signing out, files, the API and its documentation, the admin (its own tests).
NOT_PAGES = ("/accounts/logout", "/static/", "/api/", "/admin/")
FILES = (".csv", ".svg", ".pdf", "/download/")


@pytest.fixture(scope="module")
def demo_trial(django_db_setup, django_db_blocker):
    """The demo seeded once for the module, in a transaction rolled back after its last test."""
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            seed(log=lambda *_: None)
        yield


class Page(NamedTuple):
    url: str
    found_on: str  # the page that links to it ("" for the home page)
    status: int  # after following redirects
    html: str  # "" for a file, a refusal or anything else that is not an HTML page


def crawl(user) -> Iterator[Page]:
    """Every page reachable from "/" as the user, each once, in the order first found."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    seen, queue = {"/"}, deque([("/", "")])
    while queue:
        url, found_on = queue.popleft()
        answer = client.get(url, follow=True)
        is_page = (
            answer.status_code == 200
            and not url.endswith(FILES)
            and "text/html" in answer.get("Content-Type", "")
        )
        html = answer.content.decode() if is_page else ""
        yield Page(url, found_on, answer.status_code, html)
        for link in LINK.findall(html):
            link = link.replace("&amp;", "&")
            if link.startswith(NOT_PAGES) or link in seen:
                continue
            seen.add(link)
            queue.append((link, url))

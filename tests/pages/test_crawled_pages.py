"""Every page each demo role reaches from the home page, by its links and htmx fetches, crawled
once for the role and checked three ways:

- no dead ends: every link answers 200, or a deliberate redirect to a page that does; none
  answers 403 or 404 (a form or action the person cannot use is not linked: the page says
  who can);
- plain words: no page shows a code where a label exists (plain_words.py);
- the Content Security Policy: every page carries it, and none holds an inline script,
  style or handler it would block (test_csp.py holds the policy and the finder)."""

from collections import Counter

import pytest
from django.test import Client

from sites.models import Membership

from ..conftest import rolled_back
from ..test_csp import POLICY, directives, inline_parts
from .crawl import ROLES, Page, crawl, demo_trial  # noqa: F401  (demo_trial: the module's fixture)
from .plain_words import allow_list, key_words, labelled_keys, offences, visible_text

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("crawled-pages")]


def user_of(username: str):
    return Membership.objects.filter(user__username=username).first().user


@pytest.fixture(scope="module", params=ROLES)
def crawled(request, demo_trial, django_db_blocker) -> tuple[str, list[Page]]:  # noqa: F811
    """One role's pages, crawled once for the three checks (module-scoped and parametrized,
    so pytest runs each role's checks together and keeps one role's pages at a time). What
    the crawl writes (sessions, a page view's event) is rolled back before the checks."""
    with django_db_blocker.unblock(), rolled_back():
        pages = list(crawl(user_of(request.param)))
    return request.param, pages


def html_pages(pages: list[Page]) -> list[Page]:
    found = [p for p in pages if p.html]
    assert len(found) > 100, len(found)  # the crawl reached the demo's families, forms and sites
    return found


def test_no_page_links_to_a_refusal_or_a_missing_page(crawled):
    _, pages = crawled
    dead = [
        f"{p.url} answers {p.status} (linked from {p.found_on})" for p in pages if p.status != 200
    ]
    html_pages(pages)
    assert not dead, f"{len(dead)} dead links, e.g.:\n" + "\n".join(dead[:20])


def test_no_page_shows_a_code_where_a_label_exists(crawled):
    username, pages = crawled
    keys = labelled_keys()
    assert "prfq" in keys and "cp_plan" in keys  # the specs and the definition were read
    allowed, words = allow_list(), key_words(keys)
    found = [
        (page.url, token, context)
        for page in html_pages(pages)
        for token, context in offences(page.url, visible_text(page.html), words, allowed)
    ]
    tally = Counter(token for _, token, _ in found)
    assert not found, (
        f"{len(found)} codes shown where a label exists, e.g.:\n"
        + "\n".join(f"{url} as {username}: {t!r} in “…{c}…”" for url, t, c in found[:100])
        + "\nby token: "
        + ", ".join(f"{token} ({n})" for token, n in tally.most_common(40))
    )


def test_every_page_a_role_reaches_carries_the_policy_and_nothing_inline(crawled):
    # The header is added by one middleware to every response: every tenth page is asked
    # for it again (the crawl keeps the pages' text, not their headers).
    username, pages = crawled
    client = Client()
    client.force_login(user_of(username), backend="django.contrib.auth.backends.ModelBackend")
    bad = []
    for n, p in enumerate(html_pages(pages)):
        if n % 10 == 0:
            header = client.get(p.url).get("Content-Security-Policy", "")
            if directives(header) != POLICY:
                bad.append(f"{p.url}: policy {header!r}")
        bad += [f"{p.url}: {found}" for found in inline_parts(p.html)]
    assert not bad, f"{len(bad)} problems, e.g.:\n" + "\n".join(bad[:20])

"""No dead ends: as each demo role, every link on every page reachable from the home page
(and every htmx fetch) answers 200, or a deliberate redirect to a page that does; none
answers 403 or 404. A form or action the person cannot use is not linked: the page says
who can."""

import pytest

from sites.models import Membership

from .crawl import ROLES, crawl, demo_trial  # noqa: F401  (demo_trial: the module's fixture)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.xdist_group("link-crawl"),
    pytest.mark.usefixtures("demo_trial"),
]


@pytest.mark.parametrize("username", ROLES)
def test_no_page_links_to_a_refusal_or_a_missing_page(username):
    user = Membership.objects.filter(user__username=username).first().user
    pages = list(crawl(user))
    dead = [
        f"{p.url} answers {p.status} (linked from {p.found_on})" for p in pages if p.status != 200
    ]
    assert len(pages) > 100, len(pages)  # the crawl reached the demo's families, forms and sites
    assert not dead, f"{len(dead)} dead links, e.g.:\n" + "\n".join(dead[:20])

"""The people page a page at a time: 50 roles a page, every role on exactly one page, the
site, ended-role and search filters kept from page to page; and a person found by their
name, username or email."""

import re
from html import unescape

import pytest

from core.roles import Role
from sites.models import Membership

from ..factories import MembershipFactory, UserFactory

NEXT = re.compile(r'<a[^>]*href="([^"]*)"[^>]*rel="next"')
ROW = re.compile(r'<a href="/people/roles/(\d+)/">')


def follow_next(client, url: str) -> list[tuple[str, str]]:
    pages = []
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        html = answer.content.decode()
        pages.append((url, html))
        link = NEXT.search(html)
        url = "/people/" + unescape(link.group(1)) if link else ""
        assert len(pages) < 20, "the pages do not end"
    return pages


def roles_on(html: str) -> list[int]:
    return [int(pk) for pk in ROW.findall(html)]


@pytest.fixture
def staff(world):
    """70 coordinators at BUC named Wardle (Ann Wardle00, ...), 10 monitors at OXF named Lee
    (Tamsin Lee0, ...)."""
    for n in range(70):
        MembershipFactory(
            user=UserFactory(
                username=f"wardle{n:02d}",
                first_name="Ann",
                last_name=f"Wardle{n:02d}",
                email=f"a.wardle{n:02d}@bucks.nhs.example",
            ),
            trial=world.trial,
            site=world.buc,
            role=Role.SITE_COORDINATOR,
            starts_on=world.start,
        )
    for n in range(10):
        MembershipFactory(
            user=UserFactory(username=f"lee{n}", first_name="Tamsin", last_name=f"Lee{n}"),
            trial=world.trial,
            site=world.oxf,
            role=Role.MONITOR,
            starts_on=world.start,
        )


def test_every_role_is_on_exactly_one_page_of_50(world, page, staff):
    pages = follow_next(page(world.manager), "/people/")
    every = Membership.objects.filter(trial=world.trial, ends_on__isnull=True)
    assert every.count() > 80 and len(pages) == -(-every.count() // 50)
    shown = [pk for _, html in pages for pk in roles_on(html)]
    assert sorted(shown) == sorted(every.values_list("pk", flat=True))  # none twice, none cut
    assert len(roles_on(pages[0][1])) == 50
    assert f"Showing 1 to 50 of {every.count()}" in pages[0][1]


def test_the_site_and_the_search_are_kept_from_page_to_page(world, page, staff):
    query = f"site={world.buc.pk}&q=wardle"
    pages = follow_next(page(world.manager), f"/people/?{query}")
    assert len(pages) == 2  # 70 Wardles at BUC: 50, then 20
    for url, _ in pages:
        assert f"site={world.buc.pk}" in url and "q=wardle" in url
    shown = [pk for _, html in pages for pk in roles_on(html)]
    wardles = Membership.objects.filter(site=world.buc, user__username__startswith="wardle")
    assert sorted(shown) == sorted(wardles.values_list("pk", flat=True))
    assert "Showing 51 to 70 of 70" in pages[-1][1]
    assert 'value="wardle"' in pages[-1][1]  # the search box still says what was searched


@pytest.mark.parametrize(
    ("search", "usernames"),
    [
        ("Wardle07", {"wardle07"}),  # last name
        ("ann wardle07", {"wardle07"}),  # first and last name, any case
        ("lee3", {"lee3"}),  # username
        ("a.wardle12@bucks", {"wardle12"}),  # email
        # A first name the factories never give (their names are random; Sam could be Samuel).
        ("tamsin", {f"lee{n}" for n in range(10)}),
    ],
)
def test_a_person_is_found_by_name_username_or_email(world, page, staff, search, usernames):
    html = page(world.manager).get("/people/", {"q": search}).content.decode()
    found = Membership.objects.filter(pk__in=roles_on(html)).values_list(
        "user__username", flat=True
    )
    assert set(found) == usernames


def test_a_search_that_finds_no_one_says_so(world, page, staff):
    html = page(world.manager).get("/people/", {"q": "nobody-by-this-name"}).content.decode()
    assert roles_on(html) == []
    assert "No one's name, username or email contains “nobody-by-this-name”." in html


def test_a_coordinator_searches_only_the_people_they_can_see(world, page, staff):
    client = page(world.coord_buc)
    assert roles_on(client.get("/people/", {"q": "tamsin"}).content.decode()) == []  # OXF's
    found = roles_on(client.get("/people/", {"q": "wardle0"}).content.decode())
    assert len(found) == 10

"""The audit trail a page at a time: newest first, 50 a page, every event on exactly one
page however many there are (no cap), and the filters kept on the way from page to page."""

import re
from html import unescape

import pytest
from django.db import transaction

from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent
from core.channels import Channel

NEXT = re.compile(r'<a[^>]*href="([^"]*)"[^>]*rel="next"')


def seqs_on(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr[^>]*data-seq="(\d+)"', html)]


def follow_next(client, url: str) -> list[tuple[str, str]]:
    """Every page from `url` on by its "Next" link: (url, html) of each."""
    pages = []
    while url:
        html = client.get(url).content.decode()
        pages.append((url, html))
        link = NEXT.search(html)
        url = "/audit/" + unescape(link.group(1)) if link else ""
        assert len(pages) < 50, "the pages do not end"
    return pages


@pytest.fixture
def many(world):
    """130 updates at BUC by its coordinator, 20 at OXF, 15 at BUC by the manager."""
    with transaction.atomic():
        for n in range(130):
            record(
                event=EventType.UPDATE,
                actor=world.coord_buc,
                channel=Channel.WEB,
                site=world.buc,
                changes={"n": [n, n + 1]},
            )
        for n in range(20):
            record(
                event=EventType.UPDATE,
                actor=world.coord_oxf,
                channel=Channel.WEB,
                site=world.oxf,
                changes={"n": [n, n + 1]},
            )
        for n in range(15):
            record(
                event=EventType.UPDATE,
                actor=world.manager,
                channel=Channel.API,
                site=world.buc,
                changes={"n": [n, n + 1]},
            )


def test_every_event_is_on_exactly_one_page_newest_first(world, page, many):
    client = page(world.manager)
    pages = follow_next(client, "/audit/")
    every = sorted(AuditEvent.objects.values_list("seq", flat=True), reverse=True)
    assert len(every) > 150 and len(pages) == -(-len(every) // 50)
    shown = [seq for _, html in pages for seq in seqs_on(html)]
    assert shown == every  # newest first, no gap, no repeat, nothing cut off
    assert all(len(seqs_on(html)) == 50 for _, html in pages[:-1])
    assert f"Showing 1 to 50 of {len(every)}" in pages[0][1]
    assert f"of {len(every)}" in pages[-1][1] and 'rel="prev"' in pages[-1][1]


def test_the_filters_are_kept_from_page_to_page(world, page, many):
    client = page(world.manager)
    query = f"site={world.buc.pk}&actor=coord.buc&event_type=update"
    pages = follow_next(client, f"/audit/?{query}")
    assert len(pages) == 3  # 130 events: 50, 50 and 30
    for url, html in pages:
        for kept in query.split("&"):
            assert kept in url
        assert f'href="/audit/export.csv?{query}"'.replace("&", "&amp;") in html
    expected = list(
        AuditEvent.objects.filter(site_id=world.buc.pk, actor_username="coord.buc")
        .order_by("-seq")
        .values_list("seq", flat=True)
    )
    assert [seq for _, html in pages for seq in seqs_on(html)] == expected
    assert "Showing 101 to 130 of 130" in pages[-1][1]


def test_a_page_past_the_end_shows_the_last_and_a_bad_page_the_first(world, page, many):
    client = page(world.manager)
    last = client.get("/audit/?page=999").content.decode()
    first = client.get("/audit/?page=abc").content.decode()
    assert seqs_on(last)[-1] == AuditEvent.objects.order_by("seq").first().seq
    assert seqs_on(first)[0] == AuditEvent.objects.order_by("-seq").first().seq

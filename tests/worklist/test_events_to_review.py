"""A monitor's sign-off covers exactly the events they were shown: the work list's item opens
what waits for them at the site, oldest first, a page at a time; signing off a page leaves
the rest on the list, and the list and the page agree on what waits whatever the order the
ranges were signed in."""

import re

import pytest

from audit.events import EventType
from audit.models import AuditEvent, ReviewSignoff
from core.channels import Channel
from review.services import review_signoff
from sites.lifecycle import site_update
from worklist.selectors import work_for

pytestmark = pytest.mark.django_db

MORE_THAN_A_PAGE = 62


def events_item(user):
    (section,) = [s for s in work_for(user) if s.key == "events_to_review"]
    return section.items


def waiting_at_buc(world) -> list[int]:
    return list(
        AuditEvent.objects.filter(site_id=world.buc.pk)
        .exclude(event_type=EventType.REVIEW_SIGNOFF)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def shown(content: str) -> list[int]:
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', content)]


def preset(content: str, name: str) -> int:
    form = content[content.index('data-testid="signoff-form"') :]
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', form).group(0)
    return int(re.search(r'value="(\d+)"', tag).group(1))


@pytest.fixture
def many_events(world):
    for n in range(MORE_THAN_A_PAGE):
        site_update(
            site=world.buc,
            actor=world.manager,
            channel=Channel.API,
            recruitment_target=100 + n,
            reason=f"target {100 + n}",
        )
    site_update(
        site=world.oxf,
        actor=world.manager,
        channel=Channel.API,
        recruitment_target=77,
        reason="an OXF change",
    )
    waiting = waiting_at_buc(world)
    assert len(waiting) > 50
    return waiting


def test_the_item_opens_the_oldest_page_and_each_sign_off_leaves_the_rest(world, page, many_events):
    waiting = many_events
    client = page(world.monitor_buc)
    (item,) = events_item(world.monitor_buc)
    assert item.title == f"{len(waiting)} events at BUC to review"
    assert item.url == f"/audit/?site={world.buc.pk}&to_review=1"

    content = client.get(item.url).content.decode()
    assert shown(content) == waiting[:50]
    assert f"Showing 1 to 50 of {len(waiting)}" in content
    assert f'href="?site={world.buc.pk}&amp;to_review=1&amp;page=2"' in content
    first, last = preset(content, "first_seq"), preset(content, "last_seq")
    assert (first, last) == (waiting[0], waiting[49])

    answer = client.post(
        "/audit/signoff/",
        {
            "site": world.buc.pk,
            "to_review": "True",
            "first_seq": first,
            "last_seq": last,
            "note": "the oldest page",
        },
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == f"/audit/?site={world.buc.pk}&to_review=1"
    rest = waiting[50:]
    assert shown(answer.content.decode()) == rest  # its own sign-off event is not among them
    (item,) = events_item(world.monitor_buc)
    assert item.title == f"{len(rest)} events at BUC to review"
    assert item.since == AuditEvent.objects.get(seq=rest[0]).at.date()

    content = client.get(item.url).content.decode()
    assert (preset(content, "first_seq"), preset(content, "last_seq")) == (rest[0], rest[-1])
    client.post(
        "/audit/signoff/",
        {
            "site": world.buc.pk,
            "to_review": "True",
            "first_seq": rest[0],
            "last_seq": rest[-1],
        },
    )
    assert not events_item(world.monitor_buc)
    assert ReviewSignoff.objects.filter(reviewer=world.monitor_buc).count() == 2
    assert AuditEvent.objects.filter(event_type=EventType.REVIEW_SIGNOFF).count() == 2
    assert shown(client.get(item.url).content.decode()) == []


def test_a_later_range_signed_first_leaves_the_earlier_events_waiting(world, page, many_events):
    waiting = many_events
    review_signoff(
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
        site=world.buc,
        first_seq=waiting[-10],
        last_seq=waiting[-1],
    )
    earlier = waiting[:-10]
    (item,) = events_item(world.monitor_buc)
    assert item.title == f"{len(earlier)} events at BUC to review"
    client = page(world.monitor_buc)
    assert shown(client.get(item.url).content.decode()) == earlier[:50]
    assert shown(client.get(f"{item.url}&page=2").content.decode()) == earlier[50:]


def test_only_the_monitors_own_sign_offs_clear_their_list(world, many_events):
    waiting = many_events
    review_signoff(
        actor=world.manager,
        channel=Channel.COMMAND,
        site=world.buc,
        first_seq=waiting[0],
        last_seq=waiting[-1],
    )
    (item,) = events_item(world.monitor_buc)
    assert item.title == f"{len(waiting)} events at BUC to review"


def test_a_filtered_view_offers_no_sign_off_of_events_it_hides(world, page, many_events):
    client = page(world.monitor_buc)
    site = f"site={world.buc.pk}"
    assert 'data-testid="signoff-form"' in client.get(f"/audit/?{site}").content.decode()
    narrowed = client.get(f"/audit/?{site}&actor=manager&to_review=1").content.decode()
    assert shown(narrowed) and 'data-testid="signoff-form"' not in narrowed


def test_a_page_whose_events_are_all_signed_off_offers_no_sign_off(world, page, many_events):
    client = page(world.monitor_buc)
    site = {"site": world.buc.pk}
    first_view = client.get("/audit/", site).content.decode()
    assert 'data-testid="signoff-form"' in first_view
    newest = shown(first_view)
    review_signoff(
        actor=world.monitor_buc,
        channel=Channel.API,
        site=world.buc,
        first_seq=min(newest),
        last_seq=max(newest),
    )
    # The newest page now holds the sign-off's own event and events it covers: nothing to sign.
    content = client.get("/audit/", {**site, "page": 1}).content.decode()
    signoff_events = AuditEvent.objects.filter(event_type=EventType.REVIEW_SIGNOFF)
    assert set(shown(content)) - set(newest) <= set(signoff_events.values_list("seq", flat=True))
    assert 'data-testid="signoff-form"' not in content
    # Older events still wait: their page offers the sign-off, from the oldest shown.
    older = client.get("/audit/", {**site, "page": 2}).content.decode()
    assert 'data-testid="signoff-form"' in older
    assert preset(older, "first_seq") == min(shown(older))
    assert preset(older, "last_seq") == max(shown(older))

"""Each role's work list: what waits, oldest first, each item one click from the page that
clears it (and every such link opens for that person); a form the viewer does not enter
says who does, with no link to a refusal. The same lists through the API; the home page's
count in the header of the other pages."""

import pytest
from django.test import Client

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from crf.entry import response_update, response_verify
from crf.queries import query_answer, query_raise
from crf.signatures import casebook_sign
from dataset.services import data_lock, lock_unlock_request
from review.services import review_signoff
from sites.models import SiteStatus
from tests.access import another_family_at_buc, family_at, one_event, open_screening
from tests.crf.conftest import enter, enter_baseline, load_forms, randomised
from tests.factories import PASSWORD
from worklist.selectors import ON_HOME, work_for

pytestmark = pytest.mark.django_db


def section(user, key):
    found = {s.key: s for s in work_for(user)}
    return found[key]


def opens(user, items) -> None:
    """Every linked item opens for this person (perhaps by a deliberate redirect, once the
    item is done): no dead end."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    for item in items:
        if item.url:
            answer = client.get(item.url, follow=True)
            assert answer.status_code == 200, (item, answer.status_code)


def test_the_coordinator_sees_referrals_baseline_forms_randomisation_and_queries(world):
    load_forms(world)
    screening = open_screening(world, "BUC")
    family = family_at(world, "BUC")
    due = section(world.coord_buc, "forms_due").items
    baseline = [i for i in due if i.family == family.identifier]
    assert baseline and all(i.note.startswith("due before randomisation") for i in baseline)
    care = next(i for i in baseline if i.title.startswith("CARE-Index"))
    assert care.url == "" and "the blinded outcome assessor enters this form" in care.note
    core = next(i for i in baseline if i.title.startswith("CORE-10"))
    assert core.url == f"/families/{family.pk}/enter/baseline/core10/"
    assert [i.family for i in section(world.coord_buc, "to_consent").items] == [
        screening.identifier
    ]
    assert not section(world.coord_buc, "to_randomise").items
    enter_baseline(world, family)
    ready = section(world.coord_buc, "to_randomise").items
    assert [(i.family, i.url) for i in ready] == [
        (family.identifier, f"/families/{family.pk}/randomise/")
    ]
    opens(world.coord_buc, [*due, *ready, *section(world.coord_buc, "to_consent").items])


def test_queries_wait_for_the_coordinator_then_for_the_monitor_to_close(world):
    family = randomised(world, "BUC")
    response = family.responses.get(visit="baseline", form="core10")
    query = query_raise(
        response=response,
        field="item_2",
        text="Check item 2.",
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )
    waiting = section(world.coord_buc, "queries_to_answer").items
    assert [i.note for i in waiting] == ["Check item 2."]
    assert waiting[0].title == "Answer the query on CORE-10 (Baseline)"
    assert not section(world.monitor_buc, "queries_to_close").items
    query_answer(query=query, text="Checked.", actor=world.coord_buc, channel=Channel.COMMAND)
    assert not section(world.coord_buc, "queries_to_answer").items
    to_close = section(world.monitor_buc, "queries_to_close").items
    assert len(to_close) == 1
    opens(world.monitor_buc, to_close)
    opens(world.coord_buc, waiting)


def test_the_assessor_sees_only_the_forms_they_enter_with_links(world):
    family = family_at(world, "BUC")
    load_forms(world)
    items = section(world.assessor_buc, "forms_due").items
    titles = {i.title.split(",")[0] for i in items if i.family == family.identifier}
    assert "CARE-Index coding" in titles and "Demographics" not in titles
    assert all(i.url for i in items)
    opens(world.assessor_buc, items)


def test_the_monitor_sees_events_since_the_sign_off_and_forms_to_verify(world):
    family = randomised(world, "BUC")
    events = section(world.monitor_buc, "events_to_review").items
    assert [i.site for i in events] == ["BUC"]
    assert events[0].url == f"/audit/?site={world.buc.pk}&to_review=1"
    sdv = section(world.monitor_buc, "sdv_to_do").items
    demographics = next(i for i in sdv if "Demographics" in i.title)  # a key form: all of it
    assert demographics.family == family.identifier
    response_verify(
        response=family.responses.get(form="demographics"),
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )
    assert not [
        i for i in section(world.monitor_buc, "sdv_to_do").items if "Demographics" in i.title
    ]
    opens(world.monitor_buc, [*events, *sdv[:3]])


def test_the_pi_sees_casebooks_to_sign_and_a_change_brings_one_back(world):
    family = randomised(world, "BUC")
    to_sign = section(world.pi_buc, "casebooks_to_sign").items
    assert [i.family for i in to_sign] == [family.identifier]
    assert to_sign[0].url == f"/families/{family.pk}/sign/"
    opens(world.pi_buc, to_sign)
    casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="approved",
        channel=Channel.COMMAND,
    )
    assert not section(world.pi_buc, "casebooks_to_sign").items
    enter(world, family, "psoc", "month_6", on=None)
    back = (
        section(world.pi_buc, "casebooks_to_sign").items
        + section(world.pi_buc, "signatures_invalidated").items
    )
    assert [i.family for i in back] == [family.identifier]
    assert back[0].note == "1 form not covered by a signature"


def test_a_casebook_whose_signature_a_change_invalidated_is_listed_apart(world):
    signed = randomised(world, "BUC", days_ago=182)
    response = enter(world, signed, "core10", "month_6", actor=world.assessor_buc)
    casebook_sign(
        family=signed,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="approved",
        channel=Channel.COMMAND,
    )
    never = another_family_at_buc(world)
    enter(world, never, "demographics", "baseline")
    assert [i.family for i in section(world.pi_buc, "casebooks_to_sign").items] == [
        never.identifier
    ]
    assert not section(world.pi_buc, "signatures_invalidated").items
    response_update(
        response=response,
        values={"item_1": (response.values["item_1"] + 1) % 5},
        replace=False,
        reason="Recoded after review",
        actor=world.assessor_buc,
        channel=Channel.WEB,
    )
    (item,) = section(world.pi_buc, "signatures_invalidated").items
    # No valid signature covers the family now: every form it has finished is to sign.
    finished = signed.responses.filter(status__in=("complete", "verified")).count()
    assert item.family == signed.identifier and finished > 1
    assert item.note == f"{finished} forms not covered by a signature"
    assert item.since == signed.responses.latest("updated_at").updated_at.date()
    assert [i.family for i in section(world.pi_buc, "casebooks_to_sign").items] == [
        never.identifier
    ]


def test_the_statisticians_and_manager_see_the_lock_and_unlocks_to_confirm(world):
    items = section(world.stats_blind, "lock_readiness").items
    assert items == [] or items[0].url == "/lock/"
    randomised(world, "BUC")
    blocked = section(world.stats_blind, "lock_readiness").items
    assert len(blocked) == 1 and blocked[0].title.endswith(("blocks the lock", "block the lock"))


def test_an_unlock_asked_for_waits_for_the_other_person(world):
    lock = data_lock(
        trial=world.trial, actor=world.stats_blind, channel=Channel.WEB, password=PASSWORD
    )
    lock_unlock_request(lock=lock, actor=world.stats_blind, channel=Channel.WEB, reason="Fix.")
    assert [i.note for i in section(world.manager, "unlocks_to_confirm").items] == ["Fix."]
    assert not section(world.stats_blind, "unlocks_to_confirm").items
    opens(world.manager, section(world.manager, "unlocks_to_confirm").items)


def test_the_home_page_shows_the_list_and_the_header_keeps_its_count(world):
    family = family_at(world, "BUC")
    load_forms(world)
    client = Client()
    client.force_login(world.coord_buc)
    home = client.get("/").content.decode()
    assert 'data-testid="worklist"' in home and family.identifier in home
    count = sum(len(s.items) for s in work_for(world.coord_buc))
    assert f'data-testid="waiting-count">{count}<' in home
    other = client.get("/families/").content.decode()
    assert f'data-testid="nav-waiting" aria-label="{count} waiting for you">{count}<' in other


def test_an_unreachable_cache_loses_the_headers_count_never_a_page(world, settings, caplog):
    family = family_at(world, "BUC")
    # Nothing listens on port 9: every read and write of the cache fails.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    client = Client()
    client.force_login(world.coord_buc)
    home = client.get("/")
    assert home.status_code == 200 and family.identifier in home.content.decode()
    other = client.get("/families/")
    assert other.status_code == 200 and 'data-testid="nav-waiting"' not in other.content.decode()
    assert "the work list's count not kept" in caplog.text
    assert "the work list's count not read" in caplog.text


def test_the_api_gives_the_same_lists(world, api):
    family_at(world, "BUC")
    load_forms(world)
    answer = api(world.coord_buc).get("/api/v1/worklist/")
    assert answer.status_code == 200
    body = answer.json()
    sections = work_for(world.coord_buc)
    assert [s["key"] for s in body["sections"]] == [s.key for s in sections]
    assert body["waiting"] == sum(len(s.items) for s in sections)
    assert [s["count"] for s in body["sections"]] == [len(s.items) for s in sections]
    assert [i["title"] for i in body["sections"][2]["items"]] == [
        i.title for i in sections[2].items
    ]
    assert api(None).get("/api/v1/worklist/").status_code == 401


def test_a_signature_says_when_it_does_not_cover_newer_forms(world, page):
    family = randomised(world, "BUC", days_ago=190)
    casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="approved",
        channel=Channel.COMMAND,
    )
    shown = page(world.pi_buc).get(f"/families/{family.pk}/casebook/").content.decode()
    assert 'data-testid="not-covered"' not in shown and ">valid<" in shown
    enter(world, family, "psoc", "month_6")
    enter(world, family, "core10", "month_6")
    shown = page(world.pi_buc).get(f"/families/{family.pk}/casebook/").content.decode()
    assert "valid, but does not cover 2 newer forms" in shown


def test_a_sign_off_clears_the_sites_events_and_its_own_event_brings_none_back(world):
    randomised(world, "BUC")
    (item,) = section(world.monitor_buc, "events_to_review").items
    site_events = AuditEvent.objects.filter(site_id=world.buc.pk)
    review_signoff(
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
        site=world.buc,
        first_seq=site_events.order_by("seq").first().seq,
        last_seq=site_events.order_by("-seq").first().seq,
    )
    assert site_events.filter(event_type=EventType.REVIEW_SIGNOFF).exists()
    assert not section(world.monitor_buc, "events_to_review").items
    one_event(world)
    (item,) = section(world.monitor_buc, "events_to_review").items
    assert item.title == "1 event at BUC to review"


def test_the_coordinators_work_list_starts_the_screening_of_a_referral(world, page):
    assert 'data-testid="screen-referral"' in page(world.coord_buc).get("/").content.decode()
    for user in (world.assessor_buc, world.pi_buc, world.monitor_buc, world.manager):
        assert 'data-testid="screen-referral"' not in page(user).get("/").content.decode()
    world.buc.status = SiteStatus.CLOSED_TO_RECRUITMENT
    world.buc.save()
    assert 'data-testid="screen-referral"' not in page(world.coord_buc).get("/").content.decode()


def test_the_home_page_shows_the_oldest_of_a_long_section_and_its_page_shows_all(world, page):
    referrals = [open_screening(world, "BUC") for _ in range(ON_HOME + 3)]
    items = section(world.coord_buc, "to_consent").items
    assert len(items) == len(referrals) == ON_HOME + 3
    home = page(world.coord_buc).get("/").content.decode()
    block = home.split('data-testid="work-to_consent"')[1].split('class="worklist-section"')[0]
    # Oldest first: the home page has the first ON_HOME of them and says how many there are.
    assert [i.family for i in items[:ON_HOME] if i.family in block] == [
        i.family for i in items[:ON_HOME]
    ]
    assert not [i.family for i in items[ON_HOME:] if i.family in block]
    assert f"The oldest {ON_HOME} of {ON_HOME + 3}." in block
    assert 'href="/work/site_coordinator/to_consent/"' in block
    # The section's page lists every one of them, each linked as on the home page.
    whole = page(world.coord_buc).get("/work/site_coordinator/to_consent/")
    assert whole.status_code == 200
    shown = whole.content.decode()
    assert all(s.identifier in shown for s in referrals)
    assert all(f'href="{i.url}"' in shown for i in items)
    opens(world.coord_buc, items[:2])


def test_the_api_gives_a_long_sections_oldest_and_the_whole_section_a_page_at_a_time(world, api):
    referrals = [open_screening(world, "BUC") for _ in range(ON_HOME + 3)]
    items = section(world.coord_buc, "to_consent").items
    client = api(world.coord_buc)
    body = client.get("/api/v1/worklist/").json()
    (listed,) = [s for s in body["sections"] if s["key"] == "to_consent"]
    assert listed["count"] == len(referrals) == ON_HOME + 3
    assert [i["family"] for i in listed["items"]] == [i.family for i in items[:ON_HOME]]
    assert listed["all"] == "/api/v1/worklist/site_coordinator/to_consent/"
    first = client.get(listed["all"], {"page_size": 10}).json()
    pages = [first] + [
        client.get(listed["all"], {"page_size": 10, "page": n}).json() for n in (2, 3)
    ]
    assert first["count"] == ON_HOME + 3 and pages[-1]["next"] is None
    assert [i["family"] for p in pages for i in p["results"]] == [i.family for i in items]
    assert [i["url"] for p in pages for i in p["results"]] == [i.url for i in items]
    assert client.get("/api/v1/worklist/monitor/events_to_review/").status_code == 404


def test_a_section_makes_only_the_items_it_shows(world, page, monkeypatch):
    """A site's hundreds of forms due are counted and sorted, and only the ones a page shows
    are written out."""
    from worklist import selectors

    load_forms(world)
    family_at(world, "BUC")
    for _ in range(4):
        another_family_at_buc(world)  # each with its baseline forms due
    made = []
    real = selectors._due_item
    monkeypatch.setattr(selectors, "_due_item", lambda *a: made.append(a) or real(*a))
    due = section(world.coord_buc, "forms_due").items
    assert len(due) > ON_HOME and made == []
    home = page(world.coord_buc).get("/").content.decode()
    assert len(made) == ON_HOME
    assert f"The oldest {ON_HOME} of {len(due)}." in home
    made.clear()
    assert page(world.coord_buc).get("/work/site_coordinator/forms_due/").status_code == 200
    assert len(made) == min(len(due), 50)


def test_a_short_section_has_no_link_and_a_section_of_another_role_is_not_found(world, page):
    open_screening(world, "BUC")
    home = page(world.coord_buc).get("/").content.decode()
    assert 'data-testid="work-more"' not in home
    for user, url in [
        (world.assessor_buc, "/work/site_coordinator/to_consent/"),  # a role they do not hold
        (world.coord_buc, "/work/site_coordinator/no_such_list/"),
        (world.coord_buc, "/work/monitor/events_to_review/"),
    ]:
        assert page(user).get(url).status_code == 404
    assert page(world.coord_buc).get("/work/site_coordinator/to_consent/").status_code == 200

"""The monitor's review: scoped, filtered, paged, exported, signed off."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import transaction

from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from sites.lifecycle import site_update


@pytest.fixture
def history(world, page):
    """Events at BUC, OXF and none: edits with reasons, a family's events, sign-ins."""
    for site in (world.buc, world.oxf):
        for target in (35, 36):
            site_update(
                site=site,
                actor=world.manager,
                channel=Channel.API,
                recruitment_target=target,
                reason=f"target {target}",
            )
    with transaction.atomic():
        for n in range(3):
            record(
                event=EventType.UPDATE,
                actor=world.coord_buc,
                channel=Channel.WEB,
                site=world.buc,
                family="RC-BUC-0001-0",
                changes={"score": [n, n + 1]},
            )
        record(
            event=EventType.UPDATE,
            actor=world.coord_oxf,
            channel=Channel.WEB,
            site=world.oxf,
            family="RC-OXF-0001-9",
            changes={"score": [1, 2]},
        )
    page(world.monitor_buc)  # a sign-in: an event of no site
    return AuditEvent.objects.count()


def all_pages(client, url):
    seen = []
    while url:
        body = client.get(url).json()
        seen.extend(body["results"])
        url = body["next"]
    return seen


@pytest.mark.requirement("MON-1")
def test_a_buc_monitor_sees_not_one_oxf_event_through_the_api(world, api, history):
    events = all_pages(api(world.monitor_buc), "/api/v1/audit/events/?page_size=3")
    assert events and {e["site_code"] for e in events} == {"BUC"}
    assert not any("OXF" in str(e) for e in events)


@pytest.mark.requirement("MON-1")
def test_a_buc_monitor_cannot_filter_their_way_to_oxf(world, api, history):
    answer = api(world.monitor_buc).get(f"/api/v1/audit/events/?site={world.oxf.pk}")
    assert answer.status_code == 400 and "site" in answer.json()["error"]["fields"]
    answer = api(world.monitor_buc).get("/api/v1/audit/events/?family=RC-OXF-0001-9")
    assert answer.json()["results"] == []


@pytest.mark.requirement("MON-1")
def test_a_buc_monitor_sees_not_one_oxf_event_on_the_page(world, page, history):
    client = page(world.monitor_buc)
    content = client.get("/audit/").content.decode()
    assert 'data-site="BUC"' in content
    assert 'data-site="OXF"' not in content and "RC-OXF" not in content


@pytest.mark.requirement("MON-1")
def test_a_buc_monitor_exports_not_one_oxf_event(world, page, api, history):
    for client, url in (
        (page(world.monitor_buc), "/audit/export.csv"),
        (api(world.monitor_buc), "/api/v1/audit/events/export/"),
    ):
        answer = client.get(url)
        assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
        assert rows and {r["site_code"] for r in rows} == {"BUC"}
    exports = AuditEvent.objects.filter(event_type="audit_exported", actor_username="monitor.buc")
    assert sorted(exports.values_list("channel", flat=True)) == ["api", "web"]


def test_the_trial_manager_sees_every_site_and_the_events_of_no_site(world, api, history):
    events = all_pages(api(world.manager), "/api/v1/audit/events/?page_size=50")
    assert {e["site_code"] for e in events} == {"BUC", "OXF", ""}
    assert len(events) == history


def test_keyset_pages_are_newest_first_without_gaps_or_repeats(world, api, history):
    events = all_pages(api(world.manager), "/api/v1/audit/events/?page_size=2")
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(range(1, history + 1), reverse=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("family=RC-BUC-0001-0", lambda e: e["family"] == "RC-BUC-0001-0"),
        ("actor=coord.buc", lambda e: e["actor_username"] == "coord.buc"),
        ("event_type=sign_in", lambda e: e["event_type"] == "sign_in"),
        (
            "field=recruitment_target",
            lambda e: "recruitment_target" in {c["field"] for c in e["changes"]},
        ),
        ("object_type=sites.Site", lambda e: e["object_type"] == "sites.Site"),
        ("edits_after_only=true", lambda e: e["edit_after"] == "completed"),
    ],
)
def test_each_filter_keeps_exactly_the_matching_events(world, api, history, query, expected):
    everything = all_pages(api(world.manager), "/api/v1/audit/events/?page_size=100")
    kept = all_pages(api(world.manager), f"/api/v1/audit/events/?page_size=100&{query}")
    assert kept and kept == [e for e in everything if expected(e)]


def test_the_date_range_is_inclusive_whole_days(world, api, history):
    client = api(world.manager)
    day = today().isoformat()
    assert (
        len(
            client.get(f"/api/v1/audit/events/?date_from={day}&date_to={day}&page_size=100").json()[
                "results"
            ]
        )
        == history
    )
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/audit/events/?date_to={yesterday}").json()["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2026-13-45", "date_from"),
        ("date_from=2026-11-20&date_to=2026-11-10", "date_to"),
        ("event_type=teleported", "event_type"),
    ],
)
def test_bad_filters_are_400_naming_the_field(world, api, history, query, field):
    answer = api(world.manager).get(f"/api/v1/audit/events/?{query}")
    assert answer.status_code == 400 and field in answer.json()["error"]["fields"]


@pytest.mark.requirement("AUD-1")
def test_old_and_new_values_and_the_reason_come_side_by_side(world, api, history):
    event = (
        api(world.manager)
        .get(f"/api/v1/audit/events/?field=recruitment_target&site={world.buc.pk}&page_size=1")
        .json()["results"][0]
    )
    assert event["changes"] == [{"field": "recruitment_target", "old": 35, "new": 36}]
    assert event["reason"] == "target 36" and event["edit_after"] == "completed"


@pytest.mark.requirement("MON-1")
def test_a_signoff_is_recorded_and_shown_on_later_views(world, api, page, history):
    client = api(world.monitor_buc)
    buc_seqs = sorted(AuditEvent.objects.filter(site_id=world.buc.pk).values_list("seq", flat=True))
    answer = client.post(
        "/api/v1/audit/signoffs/",
        {
            "site": world.buc.pk,
            "first_seq": buc_seqs[0],
            "last_seq": buc_seqs[-1],
            "note": "BUC reviewed at the visit",
        },
        format="json",
    )
    assert answer.status_code == 201
    events = client.get("/api/v1/audit/events/?page_size=100").json()["results"]
    reviewed = {e["seq"] for e in events if e["reviewed_by"]}
    assert reviewed == set(buc_seqs)
    assert events[0]["event_type"] == "review_signoff"  # the sign-off is itself an event
    content = page(world.monitor_buc).get(f"/audit/?site={world.buc.pk}").content.decode()
    assert content.count('data-testid="reviewed"') >= len(buc_seqs)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_seq": 5, "last_seq": 2}, "first_seq"),
        ({"first_seq": 1, "last_seq": 10_000}, "last_seq"),
        ({"first_seq": 0, "last_seq": 2}, "first_seq"),
    ],
)
def test_a_bad_signoff_range_is_400_and_writes_nothing(world, api, history, body, field):
    before = AuditEvent.objects.count()
    answer = api(world.monitor_buc).post(
        "/api/v1/audit/signoffs/", {"site": world.buc.pk, **body}, format="json"
    )
    assert answer.status_code == 400 and field in answer.json()["error"]["fields"]
    assert AuditEvent.objects.count() == before


def test_edits_after_completion_are_highlighted_on_the_page(world, page, history):
    content = page(world.manager).get("/audit/?edits_after_only=on").content.decode()
    assert content.count('data-testid="late-edit"') == 4
    assert "edited after completion" in content


def test_the_review_page_costs_the_same_queries_for_many_events(
    world, page, history, django_assert_max_num_queries
):
    client = page(world.manager)
    with transaction.atomic():
        for n in range(60):
            record(
                event=EventType.UPDATE,
                actor=world.manager,
                channel=Channel.API,
                site=world.buc,
                changes={"n": [n, n + 1]},
            )
    with django_assert_max_num_queries(14):
        answer = client.get("/audit/")
    assert answer.content.decode().count("<tr class=") == 50

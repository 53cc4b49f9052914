"""The safety API: a safety event from the site's report through the PI's signed assessment,
the chief investigator's review and follow-ups to the ethics committee report; its listing
scoped and refused as the page is (hidden where the reader is blinded, another site's event
not found, a bad filter named); and emergency unblinding approved by another and shown once."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.roles import Role
from crf.models import Response
from safety.models import EmergencyUnblinding, SafetyEvent, SafetyFollowUp
from safety.selectors import CSV_HEADER
from tests.crf.conftest import randomised
from tests.factories import PASSWORD, MembershipFactory

EVENTS = "/api/v1/safety/events/"
UNBLINDING = "/api/v1/safety/unblinding/"


def report_body(*, ago=timedelta(hours=2), **answers) -> dict:
    """A valid report of an event the site learned of `ago` before now."""
    aware = timezone.localtime(timezone.now() - ago)
    values = {
        "event_date": (aware.date() - timedelta(days=1)).isoformat(),
        "reported_on": aware.date().isoformat(),
        "kind": "sae",
        "seriousness": ["hospitalisation"],
        "person": "parent",
        "relatedness": "unrelated",
        "expectedness": "expected",
        "safeguarding_referral": False,
        "outcome": "ongoing",
        "description": "Admitted overnight for observation.",
        **answers,
    }
    if values["kind"] != "sae":
        values.pop("seriousness")
    return {"values": values, "aware_time": f"{aware:%H:%M}"}


def reported(world, api, family, **answers) -> dict:
    coordinator = world.coord_buc if family.site == world.buc else world.coord_oxf
    answer = api(coordinator).post(
        f"/api/v1/families/{family.pk}/safety-events/", report_body(**answers), format="json"
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()


def assess_body(**given) -> dict:
    return {
        "seriousness": ["hospitalisation"],
        "relatedness": "possible",
        "expectedness": "unexpected",
        "password": PASSWORD,
        **given,
    }


def error_fields(answer) -> dict:
    return answer.json()["error"]["fields"]


def ledger(kind: EventType):
    return AuditEvent.objects.filter(event_type=kind)


@pytest.fixture
def family(world):
    return randomised(world, "BUC")


def test_an_event_goes_from_report_to_the_ethics_committee_through_the_api(world, api, family):
    event = reported(world, api, family)
    assert (event["family"], event["site_code"], event["kind"]) == (
        family.identifier,
        "BUC",
        "sae",
    )
    assert event["status"] == "reported" and event["reportable"] is False
    assert [s["step"] for s in event["steps"]] == ["report", "assess"]
    assert event["steps"][0]["done"] is not None and event["steps"][0]["late"] is False
    assert event["steps"][1]["done"] is None
    url = f"{EVENTS}{event['id']}/"

    assessed = api(world.pi_buc).post(f"{url}assess/", assess_body(), format="json")
    assert assessed.status_code == 200, assessed.json()
    assessed = assessed.json()
    assert assessed["status"] == "assessed" and assessed["assessed_by"] == "pi.buc"
    assert (assessed["relatedness_pi"], assessed["expectedness_pi"]) == ("possible", "unexpected")
    # Related and unexpected: due to the ethics committee on day 15 of the site's report.
    assert assessed["reportable"] is True
    assert assessed["rec_due_on"] == (today() + timedelta(days=15)).isoformat()
    assert [s["step"] for s in assessed["steps"]] == ["report", "assess", "rec"]

    reviewed = api(world.chief).post(
        f"{url}review/",
        {"relatedness": "probable", "expectedness": "unexpected", "note": "Agreed, stronger."},
        format="json",
    )
    assert reviewed.status_code == 200, reviewed.json()
    reviewed = reviewed.json()
    assert reviewed["status"] == "reviewed"
    assert (reviewed["relatedness_pi"], reviewed["relatedness_ci"]) == ("possible", "probable")

    coordinator = api(world.coord_buc)
    going = coordinator.post(
        f"{url}follow-up/", {"outcome": "resolving", "note": "Home again."}, format="json"
    )
    assert going.status_code == 201, going.json()
    assert going.json()["status"] == "reviewed" and going.json()["outcome"] == "resolving"
    closed = coordinator.post(
        f"{url}follow-up/", {"outcome": "resolved", "note": "Fully recovered."}, format="json"
    )
    assert closed.status_code == 201, closed.json()
    closed = closed.json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert [f["outcome"] for f in closed["follow_ups"]] == ["resolving", "resolved"]

    rec = api(world.chief).post(
        f"{url}rec-report/",
        {"reported_on": today().isoformat(), "reference": "REC/24/0001"},
        format="json",
    )
    assert rec.status_code == 200, rec.json()
    rec = rec.json()
    assert rec["rec_reported_on"] == today().isoformat() and rec["rec_reference"] == "REC/24/0001"
    assert rec["steps"][2]["done"] == today().isoformat() and rec["steps"][2]["late"] is False

    again = api(world.chief).post(
        f"{url}rec-report/", {"reported_on": today().isoformat(), "reference": "x"}, format="json"
    )
    assert again.status_code == 409
    steps = [
        EventType.SAE_REPORTED,
        EventType.SAE_ASSESSED,
        EventType.SAE_REVIEWED,
        EventType.SAE_FOLLOWED_UP,
        EventType.SAE_REC_REPORTED,
    ]
    for kind in steps:
        assert set(ledger(kind).values_list("channel", flat=True)) == {Channel.API}
    assert api(world.coord_buc).get(url).json() == rec


def test_a_pi_of_another_site_cannot_assess_and_nothing_changes(world, api, family):
    event = reported(world, api, family)
    answer = api(world.pi_oxf).post(f"{EVENTS}{event['id']}/assess/", assess_body(), format="json")
    assert answer.status_code == 404
    assert SafetyEvent.objects.get(pk=event["id"]).status == "reported"
    assert not ledger(EventType.SAE_ASSESSED).exists()


def test_a_coordinator_may_not_sign_the_pi_s_assessment(world, api, family):
    event = reported(world, api, family)
    answer = api(world.coord_buc).post(
        f"{EVENTS}{event['id']}/assess/", assess_body(), format="json"
    )
    assert answer.status_code == 403
    assert SafetyEvent.objects.get(pk=event["id"]).status == "reported"


def test_a_wrong_password_is_400_naming_it_changes_nothing_and_is_in_the_ledger(world, api, family):
    event = reported(world, api, family)
    response = Response.objects.get(safety_event__pk=event["id"])
    before = dict(response.values)
    answer = api(world.pi_buc).post(
        f"{EVENTS}{event['id']}/assess/", assess_body(password="not-my-password"), format="json"
    )
    assert answer.status_code == 400
    assert list(error_fields(answer)) == ["password"]
    saved = SafetyEvent.objects.get(pk=event["id"])
    assert saved.status == "reported" and saved.assessed_by is None
    response.refresh_from_db()
    assert response.values == before
    assert not ledger(EventType.SAE_ASSESSED).exists()
    (refusal,) = ledger(EventType.SAE_ASSESSMENT_REFUSED)
    assert (refusal.actor_username, refusal.channel, refusal.family) == (
        "pi.buc",
        Channel.API,
        family.identifier,
    )


@pytest.mark.parametrize("body", [{"password": ""}, {"password": None}, {}])
def test_an_assessment_without_a_password_is_400_naming_it(world, api, family, body):
    event = reported(world, api, family)
    given = assess_body()
    given.pop("password")
    if body.get("password", "absent") is None:
        given["password"] = None
    elif body:
        given.update(body)
    answer = api(world.pi_buc).post(f"{EVENTS}{event['id']}/assess/", given, format="json")
    assert answer.status_code == 400
    assert "password" in error_fields(answer)
    assert SafetyEvent.objects.get(pk=event["id"]).status == "reported"
    assert not ledger(EventType.SAE_ASSESSMENT_REFUSED).exists()


def test_an_assessment_answer_outside_the_form_is_400_naming_it(world, api, family):
    event = reported(world, api, family)
    answer = api(world.pi_buc).post(
        f"{EVENTS}{event['id']}/assess/", assess_body(relatedness="maybe"), format="json"
    )
    assert answer.status_code == 400
    assert "relatedness" in error_fields(answer)
    assert SafetyEvent.objects.get(pk=event["id"]).status == "reported"


@pytest.mark.parametrize("who", ["assessor_buc", "stats_blind"])
def test_a_reader_blinded_wherever_they_look_is_refused_the_listing(world, api, family, who):
    reported(world, api, family)
    client = api(getattr(world, who))
    for url in (EVENTS, f"{EVENTS}csv/", f"{EVENTS}?relatedness=possible"):
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert answer.json()["error"]["code"] == "not_permitted"


@pytest.mark.parametrize("who", ["assessor_buc", "stats_blind"])
def test_a_blinded_reader_finds_no_event_and_takes_no_step(world, api, family, who):
    event = reported(world, api, family)
    client = api(getattr(world, who))
    assert client.get(f"{EVENTS}{event['id']}/").status_code == 404
    follow_up = {"outcome": "resolved", "note": "x"}
    assert client.post(f"{EVENTS}{event['id']}/follow-up/", follow_up).status_code == 404


def test_a_reader_blinded_at_one_site_lists_the_other_but_not_by_relatedness(world, api, family):
    oxf_family = randomised(world, "OXF")
    reported(world, api, family)
    mine = reported(world, api, oxf_family)
    # OXF's coordinator is also an outcome assessor at BUC: blinded there.
    MembershipFactory(
        user=world.coord_oxf,
        trial=world.trial,
        site=world.buc,
        role=Role.OUTCOME_ASSESSOR,
        starts_on=world.start,
    )
    client = api(world.coord_oxf)
    listed = client.get(EVENTS).json()
    assert [e["id"] for e in listed["events"]] == [mine["id"]]
    refused = client.get(f"{EVENTS}?relatedness=unrelated")
    assert refused.status_code == 403
    assert client.get(f"{EVENTS}csv/?relatedness=unrelated").status_code == 403


def test_another_site_s_event_is_not_found_nor_listed(world, api, family):
    event = reported(world, api, family)
    client = api(world.coord_oxf)
    assert client.get(f"{EVENTS}{event['id']}/").status_code == 404
    assert client.get(EVENTS).json()["events"] == []
    follow_up = {"outcome": "resolved", "note": "Closed from the wrong site."}
    assert client.post(f"{EVENTS}{event['id']}/follow-up/", follow_up).status_code == 404
    assert not SafetyFollowUp.objects.exists()
    assert api(world.coord_buc).get(f"{EVENTS}{event['id']}/").status_code == 200


def test_a_site_reports_only_its_own_family(world, api, family):
    answer = api(world.coord_oxf).post(
        f"/api/v1/families/{family.pk}/safety-events/", report_body(), format="json"
    )
    assert answer.status_code == 404
    assert not SafetyEvent.objects.exists()


def test_an_assessor_may_not_report_a_safety_event(world, api, family):
    answer = api(world.assessor_buc).post(
        f"/api/v1/families/{family.pk}/safety-events/", report_body(), format="json"
    )
    assert answer.status_code == 403
    assert not SafetyEvent.objects.exists()


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("site", "ZZZ"),
        ("kind", "accident"),
        ("seriousness", "grave"),
        ("relatedness", "perhaps"),
        ("status", "open"),
        ("overdue", "maybe"),
    ],
)
def test_a_bad_filter_is_400_naming_it(world, api, family, param, value):
    reported(world, api, family)
    for url in (EVENTS, f"{EVENTS}csv/"):
        answer = api(world.coord_buc).get(url, {param: value})
        assert answer.status_code == 400, (url, param)
        assert list(error_fields(answer)) == [param]


def test_a_coordinator_cannot_filter_by_a_site_they_do_not_see(world, api, family):
    answer = api(world.coord_buc).get(EVENTS, {"site": "OXF"})
    assert answer.status_code == 400 and "site" in error_fields(answer)


def test_the_listing_filters_counts_and_downloads_as_the_page_does(world, api, family):
    hospital = reported(world, api, family)
    harm = reported(
        world,
        api,
        family,
        kind="safeguarding",
        relatedness="possible",
        safeguarding_referral=False,
    )
    # Learned of 30 hours ago and reported now, with the reason: late, and its PI's
    # assessment overdue.
    late_body = report_body(ago=timedelta(hours=30))
    late_body["late_reason"] = "The ward told us only today."
    late = api(world.coord_buc).post(
        f"/api/v1/families/{family.pk}/safety-events/", late_body, format="json"
    )
    assert late.status_code == 201, late.json()
    late = late.json()
    assert late["late_steps"] == ["report", "assess"] and late["overdue_steps"] == ["assess"]

    client = api(world.coord_buc)
    everything = client.get(EVENTS).json()
    assert {e["id"] for e in everything["events"]} == {hospital["id"], harm["id"], late["id"]}
    assert everything["counts"] == {"events": 3, "late_steps": 2, "overdue_steps": 1, "open": 3}

    def ids(**params):
        answer = client.get(EVENTS, params)
        assert answer.status_code == 200, answer.json()
        return {e["id"] for e in answer.json()["events"]}

    assert ids(kind="safeguarding") == {harm["id"]}
    assert ids(seriousness="hospitalisation") == {hospital["id"], late["id"]}
    assert ids(relatedness="possible") == {harm["id"]}
    assert ids(overdue="yes") == {late["id"]}
    assert ids(site="BUC", status="reported") == {hospital["id"], harm["id"], late["id"]}
    assert ids(status="closed") == set()

    download = client.get(f"{EVENTS}csv/", {"kind": "sae"})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == CSV_HEADER
    assert sorted(int(r[0]) for r in rows[1:]) == sorted([hospital["id"], late["id"]])


def test_a_report_without_its_time_is_400_naming_it_and_writes_nothing(world, api, family):
    body = report_body()
    body["aware_time"] = "half past"
    answer = api(world.coord_buc).post(
        f"/api/v1/families/{family.pk}/safety-events/", body, format="json"
    )
    assert answer.status_code == 400 and "aware_time" in error_fields(answer)
    late = report_body(ago=timedelta(hours=30))
    answer = api(world.coord_buc).post(
        f"/api/v1/families/{family.pk}/safety-events/", late, format="json"
    )
    assert answer.status_code == 400 and "late_reason" in error_fields(answer)
    assert not SafetyEvent.objects.exists()
    assert not Response.objects.filter(family=family, form="sae").exists()
    assert not ledger(EventType.SAE_REPORTED).exists()


def _asked(world, api, family, who=None) -> dict:
    answer = api(who or world.assessor_buc).post(
        UNBLINDING,
        {"family": family.identifier, "reason": "Child admitted; the ward asks for the arm."},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()


def test_emergency_unblinding_is_asked_approved_and_shown_once(world, api, family):
    assessor = api(world.assessor_buc)
    refused = assessor.post(UNBLINDING, {"family": family.identifier, "reason": " "})
    assert refused.status_code == 400 and list(error_fields(refused)) == ["reason"]
    assert not EmergencyUnblinding.objects.exists()

    asked = _asked(world, api, family)
    assert asked["status"] == "requested" and asked["requested_by"] == "assessor.buc"
    assert "arm" not in asked
    # The assessor sees their own request; the chief investigator every request.
    assert [i["id"] for i in assessor.get(UNBLINDING).json()] == [asked["id"]]
    assert [i["id"] for i in api(world.chief).get(UNBLINDING).json()] == [asked["id"]]
    assert api(world.coord_buc).get(UNBLINDING).json() == []

    too_soon = assessor.post(f"{UNBLINDING}{asked['id']}/show/")
    assert too_soon.status_code == 409
    # Not an approver (and it is their own request).
    mine = assessor.post(f"{UNBLINDING}{asked['id']}/decide/", {"approve": True, "note": "Mine."})
    assert mine.status_code == 403
    no_note = api(world.chief).post(
        f"{UNBLINDING}{asked['id']}/decide/", {"approve": True, "note": ""}, format="json"
    )
    assert no_note.status_code == 400 and list(error_fields(no_note)) == ["note"]
    approved = api(world.chief).post(
        f"{UNBLINDING}{asked['id']}/decide/",
        {"approve": True, "note": "A clinical need."},
        format="json",
    )
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "chief"

    # Only the person who asked is shown it.
    assert api(world.chief).post(f"{UNBLINDING}{asked['id']}/show/").status_code == 403
    shown = assessor.post(f"{UNBLINDING}{asked['id']}/show/")
    assert shown.status_code == 200, shown.json()
    arm = family.allocations.get().arm
    assert shown.json()["arm"] == arm and shown.json()["label"]
    again = assessor.post(f"{UNBLINDING}{asked['id']}/show/")
    assert again.status_code == 409 and "shown once" in again.json()["error"]["message"]
    (event,) = ledger(EventType.UNBLINDING_SHOWN)
    assert event.channel == Channel.API and arm not in str(event.changes)


def test_an_approver_may_not_approve_their_own_request(world, api, family):
    # The blinded statistician also manages the trial: blinded, so may ask, and an approver.
    MembershipFactory(
        user=world.stats_blind, trial=world.trial, role=Role.TRIAL_MANAGER, starts_on=world.start
    )
    asked = _asked(world, api, family, who=world.stats_blind)
    own = api(world.stats_blind).post(
        f"{UNBLINDING}{asked['id']}/decide/", {"approve": True, "note": "Urgent."}, format="json"
    )
    assert own.status_code == 403
    assert EmergencyUnblinding.objects.get(pk=asked["id"]).status == "requested"
    refused = api(world.manager).post(
        f"{UNBLINDING}{asked['id']}/decide/",
        {"approve": False, "note": "The DMC chair can be told without it."},
        format="json",
    )
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert api(world.stats_blind).post(f"{UNBLINDING}{asked['id']}/show/").status_code == 409


def test_someone_who_may_read_the_arm_does_not_ask_for_it(world, api, family):
    answer = api(world.coord_buc).post(
        UNBLINDING, {"family": family.identifier, "reason": "Curious."}, format="json"
    )
    assert answer.status_code == 403
    assert not EmergencyUnblinding.objects.exists()


def test_a_mistyped_family_identifier_is_400_naming_family(world, api, family):
    wrong = family.identifier[:-1] + ("A" if family.identifier[-1] != "A" else "B")
    answer = api(world.assessor_buc).post(
        UNBLINDING, {"family": wrong, "reason": "A safety reason."}, format="json"
    )
    assert answer.status_code == 400 and list(error_fields(answer)) == ["family"]


def test_another_site_s_family_is_not_found_for_unblinding(world, api, family):
    oxf_family = randomised(world, "OXF")
    answer = api(world.assessor_buc).post(
        UNBLINDING, {"family": oxf_family.identifier, "reason": "A safety reason."}, format="json"
    )
    assert answer.status_code == 404
    assert not EmergencyUnblinding.objects.exists()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as taken:
        assert client.get(url).status_code == 200
    return len(taken)


def test_the_listings_cost_the_same_queries_for_one_event_as_for_four(world, api, family):
    reported(world, api, family)
    _asked(world, api, family)
    coordinator, chief = api(world.coord_buc), api(world.chief)
    one = (_queries(coordinator, EVENTS), _queries(coordinator, f"{EVENTS}csv/"))
    one_asked = _queries(chief, UNBLINDING)
    for _ in range(3):
        reported(world, api, family, kind="safeguarding")
    MembershipFactory(
        user=world.stats_blind, trial=world.trial, role=Role.TRIAL_MANAGER, starts_on=world.start
    )
    _asked(world, api, family, who=world.stats_blind)
    assert len(coordinator.get(EVENTS).json()["events"]) == 4
    assert (_queries(coordinator, EVENTS), _queries(coordinator, f"{EVENTS}csv/")) == one
    assert len(chief.get(UNBLINDING).json()) == 2
    assert _queries(chief, UNBLINDING) == one_asked

"""The protocol deviation log: deviations recorded by the site's staff, the trial manager,
the chief investigator or a monitor, each field checked; automatic deviations recorded once
each (a factor corrected, a form dated outside its window, an assessor who learned the arm);
the serious-breach clock (7 calendar days) and its daily reminder; the log listed, filtered
and downloaded, scoped by site, with the kinds that tell the arm hidden from the blinded."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from config.celery import app
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from crf.entry import response_submit, response_update
from randomisation.models import Allocation
from randomisation.services import factor_correct
from tests.access import family_at
from tests.crf.conftest import load_forms, randomised
from tests.factories import DEFINITION
from trial.breach_reminders import serious_breaches_remind
from trial.definition import DefinitionError, validated
from trial.deviation_log import DeviationFilter
from trial.deviations import (
    breach_due,
    deviation_breach_reported,
    deviation_detected,
    deviation_flag_breach,
    deviation_record,
)
from trial.models import ProtocolDeviation
from trial.schema import DEVIATION_KINDS

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def record(world, actor=None, family=None, **given):
    values = {
        "kind": "consent",
        "severity": "minor",
        "occurred_on": today(),
        "description": "Consent form v2 used where v3 was approved.",
        "corrective_action": "Re-consented on v3.",
        "preventive_action": "Old forms removed from the clinic.",
        "possible_serious_breach": False,
    }
    values.update(given)
    return deviation_record(
        family=family or family_at(world, "BUC"),
        actor=actor or world.coord_buc,
        channel=Channel.WEB,
        **values,
    )


def core10(on=None, **items):
    values = {"completed_on": (on or today()).isoformat()}
    values.update({f"item_{n}": 1 for n in range(1, 11)})
    values.update(items)
    return values


def guess(unblinded: bool):
    return {"completed_on": today().isoformat(), "guess": "dont_know", "unblinded": unblinded}


# Recording by hand


def test_the_sites_staff_and_the_trials_leads_record_a_deviation_audited(world):
    for who in (world.coord_buc, world.pi_buc, world.monitor_buc, world.manager, world.chief):
        deviation = record(world, actor=who)
        assert deviation.source == "manual" and deviation.recorded_by == who
        assert deviation.corrective_action == "Re-consented on v3."
        assert deviation.preventive_action == "Old forms removed from the clinic."
        assert not deviation.possible_serious_breach and deviation.breach_due_at is None
    events = AuditEvent.objects.filter(event_type=EventType.DEVIATION_RECORDED)
    assert events.count() == 5
    assert {e.family for e in events} == {family_at(world, "BUC").identifier}


def test_roles_that_do_not_record_deviations_are_refused_and_nothing_is_written(world):
    for who in (
        world.assessor_buc,
        world.stats_blind,
        world.stats_unblind,
        world.coord_oxf,
        world.pi_oxf,
        world.outsider,
    ):
        with pytest.raises(NotPermitted):
            record(world, actor=who)
    assert not ProtocolDeviation.objects.exists()


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"kind": "sloppiness"}, "kind"),
        ({"severity": "catastrophic"}, "severity"),
        ({"occurred_on": "2026-01-01"}, "occurred_on"),
        ({"description": "   "}, "description"),
        ({"kind": "assessor_unblinded"}, "person"),
    ],
)
def test_a_bad_field_is_refused_naming_it(world, given, field):
    if given.get("occurred_on"):
        given["occurred_on"] = today() + timedelta(days=1)
    with pytest.raises(TrialError) as refused:
        record(world, **given)
    assert refused.value.field == field
    assert not ProtocolDeviation.objects.exists()


def test_a_person_is_named_only_for_an_assessor_and_must_be_one_at_the_site(world):
    with pytest.raises(TrialError) as refused:
        record(world, person=world.assessor_buc)
    assert refused.value.field == "person"
    with pytest.raises(TrialError) as refused:
        record(world, kind="assessor_unblinded", person=world.coord_buc)
    assert refused.value.field == "person" and "not an outcome assessor" in refused.value.message
    reported = record(world, kind="assessor_unblinded", person=world.assessor_buc)
    assert reported.source == "coordinator_report" and reported.person == world.assessor_buc
    # Trial-wide roles may report one without knowing who it was.
    assert record(world, kind="contamination", actor=world.manager).person is None


def test_the_definition_names_the_kinds_and_the_blinding_form():
    assert set(DEVIATION_KINDS) == set(ProtocolDeviation.Kind.values)
    data = yaml.safe_load(DEFINITION.read_text())
    config = validated(data, "reconnect.yaml")
    assert config.blinding.form == "assessor_guess" and config.blinding.field == "unblinded"
    for broken, where in (
        ({"deviations": {"kinds": ["consent", "gossip"]}}, "deviations"),
        ({"deviations": {"kinds": ["consent"]}}, "blinding"),
        ({"blinding": {"form": "no_such_form", "field": "x"}}, "blinding.form"),
    ):
        with pytest.raises(DefinitionError) as refused:
            validated({**data, **broken}, "reconnect.yaml")
        assert where in str(refused.value)


# Found by the system, once each


def test_a_factor_correction_records_one_stratification_deviation(world):
    load_forms(world)
    family = randomised(world)
    allocation = Allocation.objects.get(family=family)
    factor = "legal_status"
    wrong = "pre_proceedings" if allocation.factor_values[factor] == "cp_plan" else "cp_plan"
    correct = {
        "allocation": allocation,
        "factor": factor,
        "correct_value": wrong,
        "reason": "Read from the wrong letter.",
        "severity": "major",
        "actor": world.coord_buc,
        "channel": Channel.WEB,
    }
    correction = factor_correct(**correct)
    found = ProtocolDeviation.objects.get(family=family)
    assert correction.deviation == found
    assert (found.kind, found.source, found.severity) == (
        "stratification_error",
        "factor_correction",
        "major",
    )
    assert found.corrective_action.startswith("Allocation stands")
    with pytest.raises(Conflict):
        factor_correct(**correct)
    assert ProtocolDeviation.objects.filter(family=family).count() == 1


def test_a_form_dated_outside_its_window_records_one_deviation_even_when_changed(world):
    family = randomised(world, days_ago=300)  # the 6-month window closed 90 days ago
    draft = response_submit(
        family=family,
        form="core10",
        visit="month_6",
        values=core10(),
        actor=world.assessor_buc,
        channel=Channel.WEB,
        complete=False,
    )
    assert draft.out_of_window and not ProtocolDeviation.objects.exists()  # a draft: not yet
    response_update(
        response=draft.response,
        values=core10(),
        actor=world.assessor_buc,
        channel=Channel.WEB,
    )
    found = ProtocolDeviation.objects.get()
    assert (found.kind, found.source, found.response) == (
        "out_of_window",
        "out_of_window",
        draft.response,
    )
    assert found.source_key == f"response:{draft.response.pk}" and "6 months" in found.description
    response_update(
        response=draft.response,
        values=core10(item_1=2),
        reason="Transcription error.",
        actor=world.assessor_buc,
        channel=Channel.WEB,
    )
    assert ProtocolDeviation.objects.count() == 1
    assert AuditEvent.objects.filter(event_type=EventType.DEVIATION_RECORDED).count() == 1


def test_an_assessor_who_says_they_learned_the_arm_is_recorded_once(world):
    family = randomised(world, days_ago=182)
    told = dict(family=family, form="assessor_guess", visit="month_6", channel=Channel.WEB)
    saved = response_submit(values=guess(False), actor=world.assessor_buc, **told)
    assert not ProtocolDeviation.objects.exists()
    response_update(
        response=saved.response,
        values=guess(True),
        reason="The parent told me at the end of the visit.",
        actor=world.assessor_buc,
        channel=Channel.WEB,
    )
    found = ProtocolDeviation.objects.get()
    assert (found.kind, found.source, found.person, found.severity) == (
        "assessor_unblinded",
        "assessor_guess",
        world.assessor_buc,
        "major",
    )
    for arm in ("RECONNECT", "USUAL", "ReConnect", "Usual care"):
        assert arm not in found.description
    event = AuditEvent.objects.get(event_type=EventType.DEVIATION_RECORDED)
    assert event.conceal == "event"


def test_a_detected_deviation_is_recorded_once_per_key_in_its_callers_transaction(world):
    family = family_at(world, "BUC")
    found = dict(
        family=family,
        kind="other",
        severity="minor",
        occurred_on=today(),
        description="Emergency unblinding of the blinded statistician.",
        source="emergency_unblinding",
        source_key="unblinding:1",
        actor=world.manager,
        channel=Channel.WEB,
    )
    with transaction.atomic():
        first = deviation_detected(**found)
        again = deviation_detected(**found)
    assert first is not None and again is None
    assert ProtocolDeviation.objects.get().source == "emergency_unblinding"


# The serious-breach clock


def test_a_breach_is_due_7_calendar_days_after_the_trial_became_aware_weekends_count():
    friday = datetime(2026, 12, 4, 16, 30, tzinfo=LONDON)
    assert friday.weekday() == 4
    assert breach_due(friday) == datetime(2026, 12, 11, 16, 30, tzinfo=LONDON)


def test_at_day_7_exactly_it_is_due_and_a_minute_later_overdue(world):
    deviation = record(world, possible_serious_breach=True)
    aware = deviation.breach_flagged_at
    assert deviation.breach_due_at == aware + timedelta(days=7)
    found = ProtocolDeviation.objects.all()
    overdue = DeviationFilter(overdue=True)
    at_day_7 = aware + timedelta(days=7)
    assert not deviation.breach_overdue(at_day_7)
    assert not overdue.apply(found, now=at_day_7).exists()
    a_minute_later = at_day_7 + timedelta(minutes=1)
    assert deviation.breach_overdue(a_minute_later)
    assert list(overdue.apply(found, now=a_minute_later)) == [deviation]
    deviation_breach_reported(
        deviation=deviation, reported_on=today(), actor=world.chief, channel=Channel.WEB
    )
    deviation.refresh_from_db()
    assert not deviation.breach_overdue(a_minute_later)
    assert not overdue.apply(found, now=a_minute_later).exists()


def test_the_manager_or_chief_flags_a_breach_and_records_its_report(world):
    deviation = record(world)
    for who in (world.coord_buc, world.pi_buc, world.monitor_buc, world.stats_unblind):
        with pytest.raises(NotPermitted):
            deviation_flag_breach(deviation=deviation, reason="x", actor=who, channel=Channel.WEB)
    with pytest.raises(TrialError) as refused:
        deviation_flag_breach(deviation=deviation, reason=" ", actor=world.chief, channel="web")
    assert refused.value.field == "reason"
    with pytest.raises(Conflict):
        deviation_breach_reported(
            deviation=deviation, reported_on=today(), actor=world.manager, channel=Channel.WEB
        )
    before = timezone.now()
    flagged = deviation_flag_breach(
        deviation=deviation, reason="Consent invalid.", actor=world.chief, channel=Channel.WEB
    )
    assert flagged.possible_serious_breach
    assert before + timedelta(days=7) <= flagged.breach_due_at <= timezone.now() + timedelta(7)
    with pytest.raises(Conflict):
        deviation_flag_breach(
            deviation=deviation, reason="x", actor=world.manager, channel=Channel.WEB
        )
    with pytest.raises(TrialError) as refused:
        deviation_breach_reported(
            deviation=deviation,
            reported_on=today() + timedelta(days=1),
            actor=world.manager,
            channel=Channel.WEB,
        )
    assert refused.value.field == "reported_on"
    done = deviation_breach_reported(
        deviation=deviation, reported_on=today(), actor=world.manager, channel=Channel.WEB
    )
    assert done.breach_reported_on == today() and done.breach_reported_by == world.manager
    kinds = set(AuditEvent.objects.values_list("event_type", flat=True))
    assert {EventType.DEVIATION_BREACH_FLAGGED, EventType.DEVIATION_BREACH_REPORTED} <= kinds


# The daily reminder


def _remind(django_capture_on_commit_callbacks, now):
    with django_capture_on_commit_callbacks(execute=True):
        return serious_breaches_remind(now=now)


def test_the_reminder_emails_the_manager_and_chief_once_a_day_without_identity_or_arm(
    world, django_capture_on_commit_callbacks
):
    load_forms(world)
    family = randomised(world)
    arm = Allocation.objects.get(family=family).arm
    deviation = record(
        world,
        family=family,
        possible_serious_breach=True,
        description="Jade Morgan signed consent v2 (PRIVATE-TEXT).",
    )
    aware = deviation.breach_flagged_at
    mail.outbox.clear()
    assert _remind(django_capture_on_commit_callbacks, aware + timedelta(days=4)) == 0
    due_soon = aware + timedelta(days=5, hours=1)
    assert _remind(django_capture_on_commit_callbacks, due_soon) == 2
    # One email per recipient, each sent by itself.
    assert sorted(m.to for m in mail.outbox) == sorted([[world.manager.email], [world.chief.email]])
    sent = mail.outbox[0]
    text = sent.subject + sent.body
    assert family.identifier in text and f"/deviations/{deviation.pk}/" in sent.body
    for secret in ("Jade", "Morgan", "Ava", "PRIVATE-TEXT", arm, "Usual care", "USUAL"):
        assert secret not in text
    # Once a day: not again the same (local) day, whatever the hour the test runs at ...
    end_of_day = timezone.localtime(due_soon).replace(hour=23, minute=59, second=59)
    later_that_day = min(due_soon + timedelta(minutes=5), end_of_day)
    assert _remind(django_capture_on_commit_callbacks, later_that_day) == 0
    # ... and again on a later day (overdue by then).
    overdue = aware + timedelta(days=7, minutes=1)
    assert _remind(django_capture_on_commit_callbacks, overdue + timedelta(days=1)) == 2
    assert "OVERDUE" in mail.outbox[-1].subject
    deviation_breach_reported(
        deviation=deviation, reported_on=today(), actor=world.manager, channel=Channel.WEB
    )
    assert _remind(django_capture_on_commit_callbacks, overdue + timedelta(days=3)) == 0
    notes = AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_SENT)
    assert notes.count() == 4


def test_a_reminder_of_a_deviation_that_tells_the_arm_says_only_its_kind(
    world, django_capture_on_commit_callbacks
):
    deviation = record(
        world,
        kind="contamination",
        actor=world.manager,
        possible_serious_breach=True,
        description="The usual-care family was given ReConnect sessions (PRIVATE-TEXT).",
    )
    mail.outbox.clear()
    assert _remind(django_capture_on_commit_callbacks, deviation.breach_due_at) == 2
    sent = mail.outbox[0]
    assert len(mail.outbox) == 2  # one email per recipient
    assert "contamination" in sent.body and deviation.family.identifier in sent.body
    assert "PRIVATE-TEXT" not in sent.body and "usual" not in sent.body.lower()


def test_beat_runs_the_serious_breach_reminder_daily_through_a_registered_task(
    world, django_capture_on_commit_callbacks
):
    entry = settings.CELERY_BEAT_SCHEDULE["serious-breaches-daily"]
    assert entry["task"] == "trial.tasks.remind_serious_breaches"
    # Registered as the worker registers it: by autodiscovery, with no import of our own.
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {5}
    # The task is the reminder: run as beat runs it, it reminds of a breach due tomorrow.
    deviation = record(world, possible_serious_breach=True)
    ProtocolDeviation.objects.filter(pk=deviation.pk).update(
        breach_due_at=timezone.now() + timedelta(days=1)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert app.tasks[entry["task"]].apply().get() == 2
    assert sorted(m.to for m in mail.outbox) == sorted([[world.manager.email], [world.chief.email]])


# Listings: scoped by site and role, filtered, downloaded


def test_another_sites_deviation_is_not_found_on_page_or_api(world, api, page):
    deviation = record(world)
    oxf = api(world.coord_oxf)
    assert oxf.get("/api/v1/deviations/").json()["results"] == []
    assert (
        oxf.post(f"/api/v1/deviations/{deviation.pk}/breach/", {"reason": "x"}).status_code == 404
    )
    assert page(world.coord_oxf).get(f"/deviations/{deviation.pk}/").status_code == 404
    assert (
        deviation.family.identifier
        not in page(world.coord_oxf).get("/deviations/").content.decode()
    )
    assert page(world.coord_buc).get(f"/deviations/{deviation.pk}/").status_code == 200
    body = {
        "family": deviation.family.identifier,
        "kind": "consent",
        "severity": "minor",
        "occurred_on": today().isoformat(),
        "description": "x",
    }
    assert oxf.post("/api/v1/deviations/", body, format="json").status_code == 404


def test_blinded_readers_do_not_see_the_kinds_that_tell_the_arm(world, api, page):
    told = record(world, kind="assessor_unblinded", person=world.assessor_buc)
    other = record(world)
    for blinded in (world.assessor_buc, world.stats_blind):
        listed = [d["id"] for d in api(blinded).get("/api/v1/deviations/").json()["results"]]
        assert listed == [other.pk]
        assert page(blinded).get(f"/deviations/{told.pk}/").status_code == 404
        shown = page(blinded).get("/deviations/").content.decode()
        assert f"/deviations/{told.pk}/" not in shown and f"/deviations/{other.pk}/" in shown
        downloaded = b"".join(api(blinded).get("/api/v1/deviations.csv").streaming_content)
        assert b"assessor_unblinded" not in downloaded
    listed = [d["id"] for d in api(world.manager).get("/api/v1/deviations/").json()["results"]]
    assert sorted(listed) == sorted([told.pk, other.pk])


def test_the_list_filters_and_refuses_a_bad_filter_naming_it(world, api, page):
    major = record(world, severity="major", possible_serious_breach=True)
    minor = record(world, kind="other")
    client = api(world.manager)

    def ids(query):
        answer = client.get(f"/api/v1/deviations/?{query}")
        assert answer.status_code == 200, answer.content
        return {d["id"] for d in answer.json()["results"]}

    assert ids("severity=major") == {major.pk}
    assert ids("kind=other") == {minor.pk}
    assert ids("breach=yes") == {major.pk} and ids("breach=no") == {minor.pk}
    assert ids("reviewed=no") == {major.pk, minor.pk} and ids("reviewed=yes") == set()
    assert ids("overdue=yes") == set()
    assert ids("site=buc") == {major.pk, minor.pk} and ids("site=OXF") == set()
    assert ids(f"family={major.family.identifier}") == {major.pk, minor.pk}
    wrong = major.family.identifier[:-1] + ("A" if major.family.identifier[-1] != "A" else "B")
    for query, field in (
        ("kind=gossip", "kind"),
        ("severity=huge", "severity"),
        ("overdue=maybe", "overdue"),
        (f"family={wrong}", "family"),
    ):
        answer = client.get(f"/api/v1/deviations/?{query}")
        assert answer.status_code == 400 and field in answer.json()["error"]["fields"]
        shown = page(world.manager).get(f"/deviations/?{query}")
        assert shown.status_code == 400 and "There is a problem" in shown.content.decode()


def test_the_log_downloads_as_csv_with_its_filters(world, api, page):
    major = record(world, severity="major")
    record(world)
    for answer in (
        api(world.manager).get("/api/v1/deviations.csv?severity=major"),
        page(world.manager).get("/deviations/?severity=major&format=csv"),
    ):
        assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
        assert [r["id"] for r in rows] == [str(major.pk)]
        assert rows[0]["family"] == major.family.identifier and rows[0]["kind"] == "consent"
        assert rows[0]["preventive_action"] == "Old forms removed from the clinic."


# Recording on the API and the pages


def test_the_api_records_a_deviation_and_names_a_bad_field(world, api):
    client = api(world.coord_buc)
    family = family_at(world, "BUC")
    body = {
        "family": family.identifier,
        "kind": "assessor_unblinded",
        "severity": "major",
        "occurred_on": today().isoformat(),
        "description": "The assessor was told the arm by the parent.",
        "person": "assessor.buc",
    }
    made = client.post("/api/v1/deviations/", body, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["about_person"] == "assessor.buc"
    assert made.json()["source"] == "coordinator_report"
    for change, field in (
        ({"description": ""}, "description"),
        ({"person": "nobody"}, "person"),
        ({"kind": "gossip"}, "kind"),
        ({"family": family.identifier[:-1] + "#"}, "family"),
    ):
        refused = client.post("/api/v1/deviations/", {**body, **change}, format="json")
        assert refused.status_code == 400 and field in refused.json()["error"]["fields"]
    assert (
        api(world.assessor_buc).post("/api/v1/deviations/", body, format="json").status_code == 403
    )
    assert ProtocolDeviation.objects.count() == 1


def test_the_api_flags_and_reports_a_breach(world, api):
    deviation = record(world)
    url = f"/api/v1/deviations/{deviation.pk}"
    assert api(world.coord_buc).post(f"{url}/breach/", {"reason": "x"}).status_code == 403
    flagged = api(world.chief).post(f"{url}/breach/", {"reason": "Consent invalid."})
    assert flagged.status_code == 200 and flagged.json()["breach_due_at"]
    bad = api(world.manager).post(f"{url}/breach-reported/", {"reported_on": "soon"})
    assert bad.status_code == 400 and "reported_on" in bad.json()["error"]["fields"]
    done = api(world.manager).post(f"{url}/breach-reported/", {"reported_on": today().isoformat()})
    assert done.status_code == 200 and done.json()["breach_reported_on"] == today().isoformat()


def test_the_family_page_links_to_a_form_that_records_a_deviation(world, page):
    family = family_at(world, "BUC")
    coordinator = page(world.coord_buc)
    assert "Record a deviation" in coordinator.get(f"/families/{family.pk}/").content.decode()
    assert (
        "Record a deviation"
        not in page(world.assessor_buc).get(f"/families/{family.pk}/").content.decode()
    )
    url = f"/families/{family.pk}/deviations/new/"
    assert page(world.assessor_buc).get(url).status_code == 403
    assert page(world.coord_oxf).get(url).status_code == 404
    form = coordinator.get(url).content.decode()
    assert "Kind of deviation" in form and "assessor_unblinded" in form
    assert "Assessor unblinded" in form and "stratification_error" in form
    post = {
        "kind": "consent",
        "severity": "minor",
        "occurred_on": today().isoformat(),
        "description": "",
    }
    refused = coordinator.post(url, post)
    assert refused.status_code == 400 and not ProtocolDeviation.objects.exists()
    done = coordinator.post(url, {**post, "description": "Wrong version used."})
    deviation = ProtocolDeviation.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/deviations/{deviation.pk}/"


def test_the_pages_flag_and_report_a_breach(world, page):
    deviation = record(world)
    url = f"/deviations/{deviation.pk}"
    manager = page(world.manager)
    assert "Flag as a possible serious breach" in manager.get(f"{url}/").content.decode()
    assert "Flag as a possible" not in page(world.coord_buc).get(f"{url}/").content.decode()
    assert page(world.coord_buc).post(f"{url}/breach/", {"reason": "x"}).status_code == 403
    assert manager.post(f"{url}/breach/", {"reason": ""}).status_code == 400
    assert manager.post(f"{url}/breach/", {"reason": "Consent invalid."}).status_code == 302
    shown = manager.get(f"{url}/").content.decode()
    assert "report due by" in shown and "Record the report" in shown
    reported = manager.post(f"{url}/breach-reported/", {"reported_on": today().isoformat()})
    assert reported.status_code == 302
    deviation.refresh_from_db()
    assert deviation.breach_reported_on == today()
    assert manager.post(f"{url}/review/", {"note": "Seen."}).status_code == 302
    assert "Deviations" in manager.get("/deviations/").content.decode()

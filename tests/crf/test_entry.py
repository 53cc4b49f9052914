"""Entering and changing forms through the services: statuses, bad input that writes
nothing, gates from consent and withdrawal, reasons, verification, windows, alerts, and
baseline before randomisation."""

from datetime import timedelta

import pytest
from django.core import mail

from audit.events import EditAfter, EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from crf.entry import response_submit, response_update, response_verify
from crf.models import Query, Response
from demo.answers import answers_for
from randomisation.services import family_randomise
from tests.access import family_at, sealed_test_list

from .conftest import enter, load_forms, randomised

pytestmark = pytest.mark.django_db


def counts():
    return Response.objects.count(), Query.objects.count(), AuditEvent.objects.count()


def submit(world, family, form, values, *, visit="month_6", actor=None, complete=True):
    return response_submit(
        family=family,
        form=form,
        visit=visit,
        values=values,
        actor=actor or world.assessor_buc,
        channel=Channel.COMMAND,
        complete=complete,
    )


def core10(on=None, **items):
    values = {"completed_on": (on or today()).isoformat()}
    values.update({f"item_{n}": 1 for n in range(1, 11)})
    values.update(items)
    return values


def test_a_complete_form_is_scored_and_recorded(world):
    family = randomised(world, days_ago=182)
    saved = submit(world, family, "core10", core10(item_2=4, item_3=0))
    response = saved.response
    assert response.status == "complete" and response.revision == 1
    # Items 2 and 3 reverse (4 -> 0, 0 -> 4); eight items of 1: total 0 + 4 + 8 = 12.
    assert response.scores["total"]["value"] == "12.00"
    event = AuditEvent.objects.filter(event_type=EventType.RESPONSE_ENTERED).last()
    assert event.family == family.identifier and event.changes["values.item_2"] == [None, 4]
    assert response.history.count() == 1 and response.history.first().history_user == (
        world.assessor_buc
    )


def test_a_draft_keeps_blanks_and_a_complete_save_refuses_them(world):
    family = randomised(world, days_ago=182)
    values = core10()
    del values["item_7"]
    draft = submit(world, family, "core10", values, complete=False).response
    assert draft.status == "draft"
    with pytest.raises(TrialError) as refused:
        response_update(
            response=draft, values=values, actor=world.assessor_buc, channel=Channel.COMMAND
        )
    assert refused.value.fields == {"item_7": "is required"}
    values["item_7"] = {"missing": "declined"}
    done = response_update(
        response=draft, values=values, actor=world.assessor_buc, channel=Channel.COMMAND
    ).response
    # A draft becomes complete without a reason; one declined item is prorated.
    assert done.status == "complete" and done.missing == {"item_7": "declined"}
    # Nine answered: seven 1s and items 2 and 3 reversed (1 -> 3): 13 / 9 x 10 = 14.44.
    assert done.scores["total"]["value"] == "14.44" and done.scores["total"]["prorated"]


@pytest.mark.parametrize(
    ("form", "field", "value", "message"),
    [
        ("core10", "item_4", "two", "must be a whole number"),
        ("core10", "item_4", 5, "must be at most 4"),
        ("demographics", "ethnicity", "martian", "is not one of the choices"),
        ("primary_outcome", "date_verified", "2000-01-01", "before the child's date of birth"),
        ("core10", "completed_on", "2999-01-01", "cannot be in the future"),
        ("core10", "item_4", {"missing": "not_applicable"}, "missing-data code"),
        ("core10", "favourite_colour", "blue", "is not a field of this form"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(world, form, field, value, message):
    family = randomised(world, days_ago=546)
    from demo.answers import answers_for

    values = answers_for(load_forms(world)[form].spec, today())
    values[field] = value
    visit = "baseline" if form == "demographics" else "month_18"
    actor = world.coord_buc if form == "demographics" else world.assessor_buc
    before = counts()
    with pytest.raises(TrialError) as refused:
        submit(world, family, form, values, visit=visit, actor=actor)
    assert field in refused.value.fields and message in refused.value.fields[field]
    assert counts() == before


def test_a_field_not_asked_must_stay_empty(world):
    family = randomised(world, days_ago=546)
    from demo.answers import answers_for

    values = answers_for(load_forms(world)["primary_outcome"].spec, today())
    values["living_with_birth_parent"] = True
    values["placement_type"] = "foster"
    with pytest.raises(TrialError) as refused:
        submit(world, family, "primary_outcome", values, visit="month_18")
    assert "is asked only when" in refused.value.fields["placement_type"]


def test_a_cross_field_check_refuses_an_order_before_proceedings(world):
    family = randomised(world, days_ago=182)
    values = {
        "completed_on": today().isoformat(),
        "status": "order_made",
        "status_since": (today() - timedelta(days=5)).isoformat(),
        "proceedings_issued_on": (today() - timedelta(days=30)).isoformat(),
        "order_type": "care",
        "order_made_on": (today() - timedelta(days=40)).isoformat(),
    }
    with pytest.raises(TrialError) as refused:
        submit(world, family, "legal_status", values)
    assert refused.value.fields == {
        "order_made_on": "The order cannot be made before proceedings were issued."
    }


def test_follow_up_needs_randomisation_and_the_form_belongs_to_the_visit(world):
    load_forms(world)
    family = family_at(world, "BUC")
    with pytest.raises(Conflict, match="not randomised"):
        submit(world, family, "core10", core10())
    with pytest.raises(TrialError, match="not a form of the 6 months visit") as refused:
        submit(world, randomised(world), "demographics", {}, actor=world.coord_buc)
    assert refused.value.field == "form"
    with pytest.raises(TrialError, match="no visit"):
        submit(world, family, "core10", core10(), visit="month_99")


def test_a_slot_is_entered_once(world):
    family = randomised(world, days_ago=182)
    submit(world, family, "core10", core10())
    with pytest.raises(Conflict, match="already entered"):
        submit(world, family, "core10", core10())


def test_who_may_enter(world):
    family = randomised(world, days_ago=182)
    for outsider in (world.monitor_buc, world.pi_buc, world.coord_oxf, world.stats_blind):
        with pytest.raises(NotPermitted):
            submit(world, family, "core10", core10(), actor=outsider)
    # The assessor's guess is the blinded assessor's alone; arm-revealing forms never theirs.
    with pytest.raises(NotPermitted):
        submit(world, family, "assessor_guess", {}, actor=world.coord_buc)
    with pytest.raises(NotPermitted):
        submit(world, family, "intervention_receipt", {}, actor=world.assessor_buc)


def test_withdrawal_from_questionnaires_stops_them_but_not_records(world):
    from trial.enrolment import withdrawal_record

    family = randomised(world, days_ago=182)
    withdrawal_record(
        family=family,
        actor=world.coord_buc,
        channel=Channel.COMMAND,
        level="questionnaires",
        withdrawal_date=today(),
        reason="Too many questions",
    )
    with pytest.raises(Conflict, match="withdrawn") as refused:
        submit(world, family, "core10", core10())
    assert refused.value.field == "form"
    legal = enter(world, family, "legal_status", "month_6", actor=world.assessor_buc)
    assert legal.status == "complete"


def test_no_video_consent_means_no_care_index_and_baseline_does_not_wait_for_it(world):
    from tests.access import consent_v1, open_screening
    from tests.trial.conftest import ALL_YES, consent, enrol

    from .conftest import assessor_at

    load_forms(world)
    v1 = consent_v1(world)
    family = enrol(
        world,
        v1,
        screening=open_screening(world, "BUC"),
        actor=world.coord_buc,
        consents=[(1, consent(world, v1, answers={**ALL_YES, "video": False}))],
    )
    with pytest.raises(Conflict, match="video"):
        enter(world, family, "care_index", "baseline", actor=assessor_at(world, world.buc))
    for form in ("demographics", "legal_status", "psi4sf", "prfq", "psoc", "core10"):
        enter(world, family, form, "baseline")
    sealed_test_list(world)
    allocation = family_randomise(family=family, actor=world.coord_buc, channel=Channel.COMMAND)
    assert allocation.arm


def test_baseline_must_be_complete_to_randomise(world):
    load_forms(world)
    family = family_at(world, "BUC")
    sealed_test_list(world)
    enter(world, family, "demographics", "baseline")
    enter(world, family, "core10", "baseline", complete=False)
    with pytest.raises(TrialError, match="Baseline is not complete") as refused:
        family_randomise(family=family, actor=world.coord_buc, channel=Channel.COMMAND)
    assert refused.value.field == "baseline" and "CORE-10" in refused.value.message
    assert not family.allocations.exists()


@pytest.mark.requirement("AUD-1", "AUD-3")
def test_a_change_after_completion_needs_a_reason_and_clears_verification(world):
    family = randomised(world, days_ago=182)
    response = submit(world, family, "core10", core10()).response
    response = response_verify(response=response, actor=world.monitor_buc, channel=Channel.API)
    assert response.status == "verified"
    before = counts()
    with pytest.raises(TrialError) as refused:
        response_update(
            response=response,
            values={"item_1": 2},
            replace=False,
            actor=world.assessor_buc,
            channel=Channel.API,
        )
    assert refused.value.field == "reason" and counts() == before
    changed = response_update(
        response=response,
        values={"item_1": 2},
        replace=False,
        reason="Transcription error",
        actor=world.assessor_buc,
        channel=Channel.API,
    ).response
    assert changed.status == "complete" and changed.verified_by is None
    assert changed.revision == 2 and changed.values["item_1"] == 2
    event = AuditEvent.objects.filter(event_type=EventType.RESPONSE_CHANGED).last()
    assert event.edit_after == EditAfter.VERIFIED and event.reason == "Transcription error"
    assert event.changes == {"values.item_1": [1, 2], "status": ["verified", "complete"]}


def test_a_stale_revision_is_refused(world):
    family = randomised(world, days_ago=182)
    response = submit(world, family, "core10", core10(), complete=False).response
    response_update(
        response=response,
        values={"item_1": 3},
        replace=False,
        complete=False,
        actor=world.assessor_buc,
        channel=Channel.API,
        revision=1,
    )
    with pytest.raises(Conflict) as refused:
        response_update(
            response=response,
            values={"item_1": 4},
            replace=False,
            complete=False,
            actor=world.assessor_buc,
            channel=Channel.API,
            revision=1,
        )
    assert refused.value.field == "revision"


def test_verification_needs_a_monitor_a_complete_form_and_no_open_query(world):
    from crf.queries import query_raise

    family = randomised(world, days_ago=182)
    draft = submit(world, family, "core10", core10(), complete=False).response
    with pytest.raises(Conflict, match="draft"):
        response_verify(response=draft, actor=world.monitor_buc, channel=Channel.API)
    done = submit(
        world,
        family,
        "psoc",
        answers_for(load_forms(world)["psoc"].spec, today()),
    ).response
    with pytest.raises(NotPermitted):
        response_verify(response=done, actor=world.coord_buc, channel=Channel.API)
    query_raise(
        response=done, field="item_1", text="Check", actor=world.monitor_buc, channel=Channel.API
    )
    with pytest.raises(Conflict, match="queries"):
        response_verify(response=done, actor=world.monitor_buc, channel=Channel.API)


def test_a_form_outside_its_window_is_accepted_flagged_and_queried(world):
    family = randomised(world, days_ago=300)  # the 6-month window closed 90 days ago
    saved = submit(world, family, "core10", core10())
    assert saved.response.status == "complete" and saved.out_of_window
    query = Query.objects.get(response=saved.response)
    assert query.automatic and query.field == "completed_on" and "outside" in query.text
    inside = randomised(world, "OXF", days_ago=182)
    from .conftest import assessor_at

    ok = submit(world, inside, "core10", core10(), actor=assessor_at(world, world.oxf))
    assert not ok.out_of_window and not Query.objects.filter(response=ok.response).exists()


def test_the_risk_item_alerts_the_site_once(world, django_capture_on_commit_callbacks):
    family = randomised(world, days_ago=182)
    with django_capture_on_commit_callbacks(execute=True):
        saved = submit(world, family, "core10", core10(item_6=2))
    assert saved.new_alerts == ("risk",)
    alerts = [m for m in mail.outbox if "ALERT" in m.subject]
    # One email per recipient, each sent by itself.
    assert all(family.identifier in m.subject for m in alerts)
    assert sorted(m.to for m in alerts) == sorted([[world.coord_buc.email], [world.pi_buc.email]])
    alerted = AuditEvent.objects.filter(event_type=EventType.RESPONSE_ALERT)
    assert alerted.filter(object_id=str(saved.response.pk)).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response_update(
            response=saved.response,
            values={"item_5": 2},
            replace=False,
            reason="typo",
            actor=world.assessor_buc,
            channel=Channel.API,
        )
    assert len([m for m in mail.outbox if "ALERT" in m.subject]) == 2  # still set: not new


def test_a_new_form_version_leaves_old_responses_on_theirs(world, tmp_path):
    from crf.loading import FORMS_DIR, forms_load

    family = randomised(world, days_ago=182)
    old = submit(world, family, "core10", core10()).response
    text = (FORMS_DIR / "core10-v1.yaml").read_text().replace("version: 1", "version: 2")
    text = text.replace("title: CORE-10", "title: CORE-10 (second version)")
    path = tmp_path / "core10-v2.yaml"
    path.write_text(text)
    forms_load(trial=world.trial, paths=[path], actor=world.manager, channel=Channel.COMMAND)
    new = submit(world, family, "core10", core10(), visit="month_12").response
    old.refresh_from_db()
    assert old.definition.version == 1 and new.definition.version == 2
    assert old.definition.title == "CORE-10"


def test_after_withdrawal_a_completed_form_can_be_corrected_but_a_draft_not_finished(world):
    from trial.enrolment import withdrawal_record

    family = randomised(world, days_ago=182)
    done = submit(world, family, "core10", core10()).response
    draft = submit(world, family, "psoc", {"completed_on": today().isoformat()}, complete=False)
    withdrawal_record(
        family=family,
        actor=world.coord_buc,
        channel=Channel.COMMAND,
        level="questionnaires",
        withdrawal_date=today(),
        reason="Too many questions",
    )
    corrected = response_update(
        response=done,
        values={"item_1": 3},
        replace=False,
        reason="Transcription error on the paper form",
        actor=world.assessor_buc,
        channel=Channel.COMMAND,
    ).response
    assert corrected.values["item_1"] == 3
    with pytest.raises(Conflict, match="withdrawn"):
        response_update(
            response=draft.response,
            values={"item_1": 2},
            replace=False,
            complete=False,
            actor=world.assessor_buc,
            channel=Channel.COMMAND,
        )

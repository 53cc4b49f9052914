"""Emergency unblinding: asked for by a blinded person with a reason, approved by someone
else (a trial manager or the chief investigator), shown once, recorded in the ledger and
told to the trial manager (naming no one of the family); an assessor shown the arm is an
'assessor unblinded' deviation. The page refuses what the services refuse, as form errors,
writing nothing, and shows the arm once."""

import pytest
from django.conf import settings
from django.core import mail

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from randomisation.concealment import arm_for_emergency_unblinding
from randomisation.models import Allocation
from safety.models import EmergencyUnblinding
from safety.selectors import unblindings_visible_to
from safety.unblinding import unblinding_decide, unblinding_request, unblinding_show
from tests.access import family_at
from tests.crf.conftest import randomised
from tests.pages.test_identifiers_checked import WRONG, _mistyped
from trial.models import ProtocolDeviation

from .conftest import identity_texts

pytestmark = pytest.mark.django_db


def ask(world, family, actor, reason="Hospital needs to know if sessions were given."):
    return unblinding_request(family=family, reason=reason, actor=actor, channel=Channel.WEB)


def test_it_is_refused_without_a_reason_or_to_someone_who_may_read_the_arm(world):
    family = randomised(world)
    with pytest.raises(TrialError) as refused:
        ask(world, family, world.stats_blind, reason="  ")
    assert refused.value.field == "reason"
    with pytest.raises(NotPermitted):
        ask(world, family, world.coord_buc)  # reads the arm already
    with pytest.raises(Conflict):
        ask(world, family_at(world, "OXF"), world.stats_blind)  # not randomised: no arm
    assert not EmergencyUnblinding.objects.exists()


def test_it_is_refused_without_approval_and_approval_is_someone_elses(world):
    family = randomised(world)
    item = ask(world, family, world.stats_blind)
    with pytest.raises(Conflict):
        unblinding_show(item=item, actor=world.stats_blind, channel=Channel.WEB)
    with pytest.raises(NotPermitted):
        unblinding_decide(
            item=item, approve=True, note="ok", actor=world.coord_buc, channel=Channel.WEB
        )
    with pytest.raises(TrialError) as refused:
        unblinding_decide(item=item, approve=True, note="", actor=world.chief, channel=Channel.WEB)
    assert refused.value.field == "note"
    item.refresh_from_db()
    assert item.status == EmergencyUnblinding.Status.REQUESTED


def test_a_refused_request_never_shows_the_arm(world):
    family = randomised(world)
    item = ask(world, family, world.stats_blind)
    unblinding_decide(
        item=item,
        approve=False,
        note="Not a safety reason.",
        actor=world.manager,
        channel=Channel.WEB,
    )
    with pytest.raises(Conflict):
        unblinding_show(item=item, actor=world.stats_blind, channel=Channel.WEB)


@pytest.mark.requirement("AUD-5")
def test_approved_it_is_shown_once_to_the_person_who_asked_and_recorded(
    world, django_capture_on_commit_callbacks
):
    world.manager.email = "manager@example.org"
    world.manager.save()
    family = randomised(world)
    item = ask(world, family, world.stats_blind)
    unblinding_decide(
        item=item, approve=True, note="A safety reason.", actor=world.chief, channel=Channel.WEB
    )
    with pytest.raises(NotPermitted):
        unblinding_show(item=item, actor=world.manager, channel=Channel.WEB)
    with django_capture_on_commit_callbacks(execute=True):
        arm, label = unblinding_show(item=item, actor=world.stats_blind, channel=Channel.WEB)
    assert arm == Allocation.objects.get(family=family).arm
    assert label
    with pytest.raises(Conflict):
        unblinding_show(item=item, actor=world.stats_blind, channel=Channel.WEB)
    kinds = list(
        AuditEvent.objects.filter(object_id=str(item.pk), event_type__startswith="unblinding")
        .order_by("seq")
        .values_list("event_type", flat=True)
    )
    assert kinds == [
        EventType.UNBLINDING_REQUESTED,
        EventType.UNBLINDING_APPROVED,
        EventType.UNBLINDING_SHOWN,
    ]
    shown = AuditEvent.objects.get(event_type=EventType.UNBLINDING_SHOWN)
    assert arm not in str(shown.changes)  # the ledger says it was shown, not what
    assert [m.to for m in mail.outbox] == [["manager@example.org"]]
    assert family.identifier in mail.outbox[0].body
    assert label not in mail.outbox[0].body and arm not in mail.outbox[0].body


def test_an_assessor_shown_the_arm_is_an_assessor_unblinded_deviation(world):
    family = randomised(world)
    item = ask(world, family, world.assessor_buc)
    unblinding_decide(
        item=item, approve=True, note="A safety reason.", actor=world.manager, channel=Channel.WEB
    )
    unblinding_show(item=item, actor=world.assessor_buc, channel=Channel.WEB)
    deviation = ProtocolDeviation.objects.get(family=family, kind="assessor_unblinded")
    assert deviation.person == world.assessor_buc


def test_requests_are_seen_by_who_asked_and_by_the_approvers(world):
    family = randomised(world)
    item = ask(world, family, world.stats_blind)
    assert list(unblindings_visible_to(world.stats_blind)) == [item]
    assert list(unblindings_visible_to(world.chief)) == [item]
    assert list(unblindings_visible_to(world.manager)) == [item]
    assert list(unblindings_visible_to(world.assessor_buc)) == []
    assert list(unblindings_visible_to(world.coord_buc)) == []


def test_the_trial_managers_email_of_a_shown_arm_names_no_participant(
    world, django_capture_on_commit_callbacks
):
    world.manager.email = "manager@example.org"
    world.manager.save()
    family = randomised(world)
    # The reason is free text: a requester may well name the family's people in it.
    item = ask(world, family, world.stats_blind, reason="Ava Morgan is in hospital (Jade asks).")
    unblinding_decide(
        item=item, approve=True, note="A safety reason.", actor=world.chief, channel=Channel.WEB
    )
    with django_capture_on_commit_callbacks(execute=True):
        unblinding_show(item=item, actor=world.stats_blind, channel=Channel.WEB)
    [sent] = mail.outbox
    text = sent.subject + "\n" + sent.body
    assert family.identifier in sent.subject and family.identifier in sent.body
    assert f"{settings.SITE_URL}/safety/unblinding/" in sent.body
    names = identity_texts(family)
    assert {"Ava", "Morgan", "Jade"} <= set(names)
    for secret in names:
        assert secret not in text, f"{secret!r} in the email"


# The page: asked for, decided and shown through /safety/unblinding/


def post(client, **fields):
    return client.post("/safety/unblinding/", fields)


def unblinding_events():
    return AuditEvent.objects.filter(event_type__startswith="unblinding")


def test_the_page_refuses_a_request_without_a_reason_and_writes_nothing(world, page):
    family = randomised(world)
    answer = post(page(world.stats_blind), action="request", family=family.identifier, reason=" ")
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "Say why the arm is needed (the safety reason)." in body
    assert 'href="#id_reason"' in body and "nhsuk-form-group--error" in body
    assert family.identifier in body  # kept in the box
    assert not EmergencyUnblinding.objects.exists()
    assert not EmergencyUnblinding.history.exists()
    assert not unblinding_events().exists()


def test_the_page_refuses_a_mistyped_check_character_and_writes_nothing(world, page):
    family = randomised(world)
    client = page(world.stats_blind)
    typed = _mistyped(family.identifier)
    answer = post(client, action="request", family=typed, reason="Admitted to hospital.")
    assert answer.status_code == 400
    body = answer.content.decode()
    assert body.count(WRONG) == 2, "once in the error summary, once beside the field"
    assert 'href="#id_family"' in body and typed in body
    assert not EmergencyUnblinding.objects.exists() and not unblinding_events().exists()
    # Typed right (in any case), it is asked for.
    done = post(client, action="request", family=family.identifier.lower(), reason="Admitted.")
    assert done.status_code == 302
    assert EmergencyUnblinding.objects.get().family == family


def test_the_page_refuses_to_show_an_arm_not_approved_and_writes_nothing(world, page):
    family = randomised(world)
    label = arm_for_emergency_unblinding(family)[1]
    item = ask(world, family, world.stats_blind)
    requester, manager = page(world.stats_blind), page(world.manager)
    asked = set(unblinding_events().values_list("pk", flat=True))

    def refused_to_show():
        answer = post(requester, action="show", item=item.pk)
        assert answer.status_code == 400
        body = answer.content.decode()
        assert "This request is not approved." in body
        assert 'data-testid="arm-shown"' not in body and f"<p>{label}</p>" not in body
        item.refresh_from_db()
        assert item.shown_at is None and item.status != EmergencyUnblinding.Status.SHOWN

    refused_to_show()
    assert set(unblinding_events().values_list("pk", flat=True)) == asked
    # An approval without its note is refused, and decides nothing.
    answer = post(manager, action="approve", item=item.pk, note="")
    assert answer.status_code == 400
    assert "Say why you approve or refuse it." in answer.content.decode()
    item.refresh_from_db()
    assert item.status == EmergencyUnblinding.Status.REQUESTED
    assert set(unblinding_events().values_list("pk", flat=True)) == asked
    # Refused: never shown.
    assert (
        post(manager, action="refuse", item=item.pk, note="Not a safety reason.").status_code == 302
    )
    refused_to_show()
    assert not unblinding_events().filter(event_type=EventType.UNBLINDING_SHOWN).exists()


def test_once_approved_the_page_shows_the_arm_to_the_requester_exactly_once(world, page):
    family = randomised(world)
    label = arm_for_emergency_unblinding(family)[1]
    requester, chief = page(world.stats_blind), page(world.chief)
    reason = "The ward asks whether sessions were given."
    assert (
        post(requester, action="request", family=family.identifier, reason=reason).status_code
        == 302
    )
    item = EmergencyUnblinding.objects.get()
    listed = chief.get("/safety/unblinding/").content.decode()
    assert reason in listed and 'value="approve"' in listed
    assert post(chief, action="approve", item=item.pk, note="A clinical need.").status_code == 302
    before = requester.get("/safety/unblinding/").content.decode()
    assert 'value="show"' in before and 'data-testid="arm-shown"' not in before
    shown = post(requester, action="show", item=item.pk)
    assert shown.status_code == 200
    body = shown.content.decode()
    assert 'data-testid="arm-shown"' in body and f"<p>{label}</p>" in body
    # Never again: not on a second try, not on the page, not to the approver.
    again = post(requester, action="show", item=item.pk)
    assert again.status_code == 400 and "it is shown once" in again.content.decode()
    for answer in (again, requester.get("/safety/unblinding/"), chief.get("/safety/unblinding/")):
        text = answer.content.decode()
        assert 'data-testid="arm-shown"' not in text and f"<p>{label}</p>" not in text
        assert 'value="show"' not in text
    assert unblinding_events().filter(event_type=EventType.UNBLINDING_SHOWN).count() == 1

"""Emergency unblinding: asked for by a blinded person with a reason, approved by someone
else (a trial manager or the chief investigator), shown once, recorded in the ledger and
told to the trial manager; an assessor shown the arm is an 'assessor unblinded' deviation."""

import pytest
from django.core import mail

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from randomisation.models import Allocation
from safety.models import EmergencyUnblinding
from safety.selectors import unblindings_visible_to
from safety.unblinding import unblinding_decide, unblinding_request, unblinding_show
from tests.access import family_at
from tests.crf.conftest import randomised
from trial.models import ProtocolDeviation

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

"""A query's life (raise, answer or correct, close, re-open), and the casebook signature:
password, content hash, refusal, and invalidation by a later change."""

import pytest

from audit.events import EditAfter, EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from crf.entry import response_update
from crf.models import Response, Signature
from crf.queries import query_answer, query_close, query_raise, query_reopen
from crf.signatures import casebook_sign, signature_intact
from tests.factories import PASSWORD

from .conftest import enter, randomised

pytestmark = pytest.mark.django_db


def events(kind):
    return AuditEvent.objects.filter(event_type=kind)


@pytest.mark.requirement("AUD-5")
def test_a_query_is_raised_corrected_closed_and_reopened(world):
    family = randomised(world, days_ago=182)
    response = enter(world, family, "core10", "month_6", actor=world.assessor_buc, item_3=2)
    with pytest.raises(TrialError) as refused:
        query_raise(
            response=response,
            field="item_33",
            text="?",
            actor=world.monitor_buc,
            channel=Channel.WEB,
        )
    assert refused.value.field == "field"
    with pytest.raises(NotPermitted):
        query_raise(
            response=response, field="item_3", text="?", actor=world.coord_buc, channel=Channel.WEB
        )
    query = query_raise(
        response=response,
        field="item_3",
        text="Paper form says 1.",
        actor=world.monitor_buc,
        channel=Channel.WEB,
    )
    assert query.status == "open"
    answered = query_answer(
        query=query,
        text="Corrected from the paper form.",
        correction={"item_3": 1},
        actor=world.coord_buc,
        channel=Channel.WEB,
    )
    response.refresh_from_db()
    assert answered.status == "answered" and response.values["item_3"] == 1
    change = events(EventType.RESPONSE_CHANGED).get()
    assert change.reason == "Corrected from the paper form."
    assert change.edit_after == EditAfter.COMPLETED and change.changes["values.item_3"] == [2, 1]
    with pytest.raises(Conflict):
        query_answer(query=query, text="again", actor=world.coord_buc, channel=Channel.WEB)
    with pytest.raises(NotPermitted):
        query_close(query=query, actor=world.coord_buc, channel=Channel.WEB)
    query_close(query=query, actor=world.monitor_buc, channel=Channel.WEB)
    with pytest.raises(TrialError) as refused:
        query_reopen(query=query, text="  ", actor=world.monitor_buc, channel=Channel.WEB)
    assert refused.value.field == "text"
    reopened = query_reopen(
        query=query, text="Item 3 is still wrong.", actor=world.monitor_buc, channel=Channel.WEB
    )
    assert reopened.status == "open" and reopened.closed_at is None
    kinds = list(query.messages.values_list("kind", flat=True))
    assert kinds == ["raised", "corrected", "closed", "reopened"]
    for kind in (
        EventType.QUERY_RAISED,
        EventType.QUERY_ANSWERED,
        EventType.QUERY_CLOSED,
        EventType.QUERY_REOPENED,
    ):
        assert events(kind).filter(family=family.identifier).exists()


def test_a_bad_correction_writes_nothing(world):
    family = randomised(world, days_ago=182)
    response = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    query = query_raise(
        response=response,
        field="item_3",
        text="Check.",
        actor=world.monitor_buc,
        channel=Channel.WEB,
    )
    before = (AuditEvent.objects.count(), response.revision)
    with pytest.raises(TrialError) as refused:
        query_answer(
            query=query,
            text="Fixed",
            correction={"item_3": "seven"},
            actor=world.coord_buc,
            channel=Channel.WEB,
        )
    response.refresh_from_db()
    query.refresh_from_db()
    assert refused.value.fields == {"item_3": "must be a whole number"}
    assert (AuditEvent.objects.count(), response.revision) == before and query.status == "open"


@pytest.mark.requirement("AUD-5", "SIG-1", "SIG-2", "SIG-3")
def test_the_pi_signs_with_their_password_and_a_later_change_invalidates(world):
    family = randomised(world, days_ago=182)
    response = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    with pytest.raises(TrialError) as refused:
        casebook_sign(
            family=family,
            actor=world.pi_buc,
            password="wrong",
            meaning="reviewed",
            channel=Channel.WEB,
        )
    assert refused.value.field == "password" and not Signature.objects.exists()
    assert events(EventType.SIGNATURE_REFUSED).count() == 1  # the refusal itself is kept
    with pytest.raises(NotPermitted):
        casebook_sign(
            family=family,
            actor=world.coord_buc,
            password=PASSWORD,
            meaning="reviewed",
            channel=Channel.WEB,
        )
    signature = casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="reviewed",
        channel=Channel.WEB,
    )
    assert signature_intact(signature)
    assert len(signature.content) == Response.objects.filter(family=family).count()
    assert "accurate and complete" in signature.meaning
    response_update(
        response=response,
        values={"item_1": (response.values["item_1"] + 1) % 5},
        replace=False,
        reason="Recoded after review",
        actor=world.assessor_buc,
        channel=Channel.WEB,
    )
    signature.refresh_from_db()
    assert not signature.valid and not signature_intact(signature)
    assert "Recoded after review" in signature.invalidated_reason
    change = events(EventType.RESPONSE_CHANGED).get()
    assert change.edit_after == EditAfter.SIGNED
    assert events(EventType.SIGNATURE_INVALIDATED).count() == 1


@pytest.mark.requirement("SIG-2")
def test_a_change_made_outside_the_services_breaks_the_signature_hash(world):
    family = randomised(world, days_ago=182)
    response = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    signature = casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="approved",
        channel=Channel.WEB,
    )
    other = (response.values["item_1"] + 1) % 5  # a different answer, whatever was drawn
    Response.objects.filter(pk=response.pk).update(values={**response.values, "item_1": other})
    signature.refresh_from_db()
    assert signature.valid and not signature_intact(signature)


def test_signing_waits_for_drafts_and_open_queries(world):
    family = randomised(world, days_ago=182)
    draft = enter(world, family, "core10", "month_6", actor=world.assessor_buc, complete=False)
    with pytest.raises(Conflict, match="drafts"):
        casebook_sign(
            family=family,
            actor=world.pi_buc,
            password=PASSWORD,
            meaning="reviewed",
            channel=Channel.WEB,
        )
    done = response_update(
        response=draft, values={}, replace=False, actor=world.assessor_buc, channel=Channel.WEB
    ).response
    query_raise(
        response=done, field="item_1", text="Check", actor=world.monitor_buc, channel=Channel.WEB
    )
    with pytest.raises(Conflict, match="queries"):
        casebook_sign(
            family=family,
            actor=world.pi_buc,
            password=PASSWORD,
            meaning="reviewed",
            channel=Channel.WEB,
        )


@pytest.mark.requirement("SIG-1")
def test_a_signer_with_the_longest_names_an_account_allows_can_sign(world):
    """First and last names of 150 characters each: the signature keeps the whole name."""
    family = randomised(world, days_ago=190)
    world.pi_buc.first_name, world.pi_buc.last_name = "F" * 150, "L" * 150
    world.pi_buc.save()
    signature = casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="reviewed",
        channel=Channel.WEB,
    )
    signature.refresh_from_db()
    assert signature.signer_name == "F" * 150 + " " + "L" * 150

"""A protocol deviation is reviewed by the trial manager, with what was found or decided;
until then it blocks a lock. Deviations that can tell the arm are hidden from readers
blinded at the family's site (the page, the API, the readiness report)."""

import pytest

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from dataset.readiness import lock_readiness
from tests.access import buc_deviation
from trial.deviations import deviation_review

pytestmark = pytest.mark.django_db


def test_an_unreviewed_deviation_blocks_a_lock_until_the_manager_reviews_it(world):
    deviation = buc_deviation(world)
    blockers = [b for b in lock_readiness(world.trial).blockers if b.kind == "deviation_open"]
    assert [b.url for b in blockers] == [f"/families/{deviation.family_id}/#deviations"]
    for who in (world.coord_buc, world.stats_blind, world.monitor_buc, world.pi_buc):
        with pytest.raises(NotPermitted):
            deviation_review(deviation=deviation, actor=who, channel=Channel.WEB, note="x")
    with pytest.raises(TrialError) as refused:
        deviation_review(deviation=deviation, actor=world.manager, channel=Channel.WEB, note=" ")
    assert refused.value.field == "note"
    deviation_review(
        deviation=deviation, actor=world.manager, channel=Channel.WEB, note="Allocation stands."
    )
    assert not [b for b in lock_readiness(world.trial).blockers if b.kind == "deviation_open"]
    event = AuditEvent.objects.get(event_type=EventType.DEVIATION_REVIEWED)
    assert event.reason == "Allocation stands." and event.actor_username == "manager"
    with pytest.raises(Conflict):
        deviation_review(deviation=deviation, actor=world.manager, channel=Channel.WEB, note="x")


def test_a_deviation_that_can_tell_the_arm_is_hidden_from_blinded_readers(world, api, page):
    deviation = buc_deviation(world, kind="contamination")
    family = deviation.family
    assert [d["id"] for d in api(world.manager).get("/api/v1/deviations/").json()["results"]] == [
        deviation.pk
    ]
    for blinded in (world.assessor_buc, world.stats_blind):
        assert api(blinded).get("/api/v1/deviations/").json()["results"] == []
        assert "Contamination" not in page(blinded).get(f"/families/{family.pk}/").content.decode()
        answer = api(blinded).post(f"/api/v1/deviations/{deviation.pk}/review/", {"note": "x"})
        assert answer.status_code == 404
    shown = lock_readiness(world.trial, viewer=world.stats_blind)
    assert shown.concealed == 1 and not [b for b in shown.blockers if b.kind == "deviation_open"]
    assert "Contamination" in page(world.manager).get(f"/families/{family.pk}/").content.decode()


def test_the_manager_reviews_on_the_familys_page(world, page):
    deviation = buc_deviation(world)
    client = page(world.manager)
    url = f"/families/{deviation.family_id}/"
    assert "Record the review" in client.get(url).content.decode()
    malformed = client.post(url, {"action": "review_deviation", "deviation": "x", "note": "S"})
    assert malformed.status_code == 404
    posted = client.post(
        url, {"action": "review_deviation", "deviation": deviation.pk, "note": "Seen at the SIV."}
    )
    assert posted.status_code == 302
    deviation.refresh_from_db()
    assert deviation.reviewed_by == world.manager and deviation.review_note == "Seen at the SIV."

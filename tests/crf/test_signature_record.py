"""What a signature shows and what the ledger keeps of signing and of source-data
verification (21 CFR 11.50; ICH E6(R3) 4.2.2)."""

import pytest
from django.utils import timezone
from django.utils.html import escape

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from crf.entry import response_verify
from crf.signatures import casebook_sign

from ..factories import PASSWORD
from .conftest import enter, randomised

pytestmark = pytest.mark.django_db


def signed(world, meaning="reviewed"):
    family = randomised(world, days_ago=182)
    enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    world.pi_buc.first_name, world.pi_buc.last_name = "Aled", "Prys-Jones"
    world.pi_buc.save()
    signature = casebook_sign(
        family=family, actor=world.pi_buc, password=PASSWORD, meaning=meaning, channel=Channel.WEB
    )
    return family, signature


@pytest.mark.requirement("SIG-1")
def test_the_casebook_shows_the_signers_name_the_time_and_the_meaning(world, page):
    family, signature = signed(world, meaning="approved")
    when = timezone.localtime(signature.signed_at)  # shown in Europe/London
    html = page(world.monitor_buc).get(f"/families/{family.pk}/casebook/").content.decode()
    assert "Signed by <strong>Aled Prys-Jones</strong>" in html
    assert f"on {when:%-d %b %Y %H:%M}" in html
    assert f"“{escape(signature.meaning)}”" in html and "approve" in signature.meaning


@pytest.mark.requirement("SIG-1")
def test_the_api_gives_the_signers_name_the_time_and_the_meaning(world, api):
    family, signature = signed(world)
    (shown,) = api(world.monitor_buc).get(f"/api/v1/families/{family.pk}/signatures/").json()
    assert (shown["signer"], shown["signer_name"]) == ("pi.buc", "Aled Prys-Jones")
    assert shown["meaning"] == signature.meaning and "reviewed" in shown["meaning"]
    assert shown["signed_at"] == signature.signed_at.isoformat().replace("+00:00", "Z")


@pytest.mark.requirement("AUD-5")
def test_a_signature_is_in_the_ledger_with_its_signer_role_family_and_meaning(world):
    family, signature = signed(world)
    event = AuditEvent.objects.get(event_type=EventType.CASEBOOK_SIGNED)
    assert (event.actor_username, event.site_code, event.family) == (
        "pi.buc",
        "BUC",
        family.identifier,
    )
    assert "Principal investigator" in event.actor_role or "principal" in event.actor_role
    assert event.object_id == str(signature.pk) and signature.meaning in str(event.changes)


@pytest.mark.requirement("AUD-5")
def test_source_data_verification_is_in_the_ledger_with_the_monitor_and_the_form(world):
    family = randomised(world, days_ago=182)
    response = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    before = AuditEvent.objects.count()
    response_verify(response=response, actor=world.monitor_buc, channel=Channel.API)
    (event,) = AuditEvent.objects.filter(seq__gt=before, event_type=EventType.RESPONSE_VERIFIED)
    assert (event.actor_username, event.channel, event.family) == (
        "monitor.buc",
        "api",
        family.identifier,
    )
    assert event.object_id == str(response.pk)
    assert event.changes.get("status") == ["complete", "verified"]

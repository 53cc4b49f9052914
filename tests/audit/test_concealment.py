"""The audit trail as a blinded viewer sees it: what would reveal an arm is withheld and
marked "arm concealed", on the page, in the API and in the CSV; the rest of the event and
the sequence stay, so the chain can still be reviewed. The classification is chained."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection

from audit import triggers
from audit.chain import link_hash
from audit.events import Concealed, EventType
from audit.models import CHAINED_FIELDS, AuditEvent, chained_fields
from core.channels import Channel
from core.roles import Role
from crf.entry import response_change
from crf.queries import query_raise
from crf.signatures import casebook_sign
from review.concealment import CONCEALED

from ..access import crf_family, crf_response
from ..factories import PASSWORD, MembershipFactory


@pytest.fixture
def trail(world):
    """A BUC family randomised, a CORE-10 and an intervention receipt entered, the casebook
    signed, the receipt changed with a reason (invalidating the signature) and queried; and
    BUC's blinded assessor made a monitor of BUC too, as the review found possible."""
    family = crf_family(world)
    crf_response(world)
    receipt = crf_response(world, "intervention_receipt")
    casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="reviewed",
        channel=Channel.COMMAND,
    )
    values = {**receipt.values, "sessions_1": 2 if receipt.values.get("sessions_1") == 1 else 1}
    response_change(
        response=receipt,
        values=values,
        reason="recounted from the session diary",
        actor=world.coord_buc,
        channel=Channel.COMMAND,
    )
    query_raise(
        response=receipt,
        field="sessions_2",
        text="group sessions look high",
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )
    MembershipFactory(
        user=world.assessor_buc,
        trial=world.trial,
        site=world.buc,
        role=Role.MONITOR,
        starts_on=world.start,
    )
    return family, receipt


def events_api(api, user, query="") -> list[dict]:
    return api(user).get(f"/api/v1/audit/events/?page_size=1000{query}").json()["results"]


def test_the_services_say_what_of_an_event_would_reveal_an_arm(world, trail):
    family, _receipt = trail
    by_kind = {
        (e.event_type, e.object_type): e.conceal
        for e in AuditEvent.objects.filter(family=family.identifier)
    }
    assert by_kind[(EventType.RANDOMISED, "randomisation.Allocation")] == Concealed.ARM
    assert by_kind[(EventType.RESPONSE_CHANGED, "crf.Response")] == Concealed.EVENT
    assert by_kind[(EventType.QUERY_RAISED, "crf.Query")] == Concealed.EVENT
    assert by_kind[(EventType.SIGNATURE_INVALIDATED, "crf.Signature")] == Concealed.EVENT
    core10 = AuditEvent.objects.get(
        event_type=EventType.RESPONSE_ENTERED, object_id=str(crf_response(world).pk)
    )
    assert core10.conceal == ""


def test_a_blinded_monitor_sees_the_randomisation_but_not_the_arm(world, trail, api):
    family, _ = trail
    [event] = events_api(api, world.assessor_buc, f"&event_type=randomised&site={world.buc.pk}")
    changes = {c["field"]: c["new"] for c in event["changes"]}
    assert event["family"] == family.identifier and event["withheld"] is True
    assert changes["arm"] == CONCEALED and changes["stratum"]
    assert event["hash"] == CONCEALED
    after = events_api(api, world.assessor_buc, "")
    following = next(e for e in after if e["seq"] == event["seq"] + 1)
    assert following["prev_hash"] == CONCEALED


def test_an_unblinded_monitor_sees_the_same_events_whole(world, trail, api):
    [event] = events_api(api, world.monitor_buc, "&event_type=randomised")
    stored = AuditEvent.objects.get(seq=event["seq"])
    assert event["withheld"] is False and event["hash"] == stored.hash
    assert {c["field"]: c["new"] for c in event["changes"]}["arm"] == stored.changes["arm"][1]


def test_events_of_a_form_that_reveals_the_arm_keep_their_place_but_not_their_content(
    world, trail, api
):
    shown = {e["seq"]: e for e in events_api(api, world.assessor_buc)}
    hidden = AuditEvent.objects.filter(conceal=Concealed.EVENT)
    assert hidden.count() >= 4
    for stored in hidden:
        event = shown[stored.seq]
        assert event["withheld"] and event["event_type"] == stored.event_type
        assert (event["family"], event["object_id"], event["changes"], event["reason"]) == (
            "",
            "",
            [],
            "",
        )


def test_a_search_cannot_find_what_is_withheld(world, trail, api):
    family, receipt = trail
    for query in (
        f"&family={family.identifier}",
        f"&object_type=crf.Response&object_id={receipt.pk}",
        "&field=values.sessions_1",
    ):
        found = events_api(api, world.assessor_buc, query)
        assert all(e["conceal"] != Concealed.EVENT for e in found), query
    everyone = events_api(api, world.monitor_buc, f"&family={family.identifier}")
    assert any(e["conceal"] == Concealed.EVENT for e in everyone)


def test_the_csv_and_the_page_conceal_the_same(world, trail, page):
    client = page(world.assessor_buc)
    answer = client.get("/audit/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
    randomised = next(r for r in rows if r["event_type"] == "randomised")
    assert '"arm": [null, "arm concealed"]' in randomised["changes"]
    assert randomised["withheld"] == CONCEALED and randomised["hash"] == CONCEALED
    text = "".join(r["changes"] + r["reason"] for r in rows)
    assert "sessions_" not in text and "diary" not in text and "RECONNECT" not in text
    html = client.get("/audit/").content.decode()
    assert 'data-testid="arm-concealed"' in html
    assert "sessions_" not in html and "RECONNECT" not in html and "USUAL" not in html


def test_the_casebook_says_a_concealed_form_changed_without_naming_it(world, trail, api, page):
    family, _ = trail
    signature = api(world.assessor_buc).get(f"/api/v1/families/{family.pk}/signatures/").json()
    assert signature[0]["invalidated_reason"].startswith("arm concealed")
    assert (
        "diary"
        not in page(world.assessor_buc).get(f"/families/{family.pk}/casebook/").content.decode()
    )
    coordinator = api(world.coord_buc).get(f"/api/v1/families/{family.pk}/signatures/").json()
    assert "Intervention receipt" in coordinator[0]["invalidated_reason"]


def test_the_admin_leaves_out_events_that_would_reveal_an_arm_to_a_blinded_manager(
    world, trail, page
):
    MembershipFactory(
        user=world.manager,
        trial=world.trial,
        site=world.buc,
        role=Role.OUTCOME_ASSESSOR,
        starts_on=world.start,
    )
    concealed = AuditEvent.objects.exclude(conceal="").first()
    answer = page(world.manager).get(f"/admin/audit/auditevent/{concealed.seq}/change/")
    assert answer.status_code in (302, 404)
    assert page(world.monitor_buc).get("/admin/").status_code == 302


def test_the_classification_is_in_the_chain(world, trail):
    """Unsetting an event's classification (to show it whole) breaks the chain there."""
    event = AuditEvent.objects.filter(conceal=Concealed.ARM).first()
    triggers.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET conceal = '' WHERE seq = %s", [event.seq])
    with pytest.raises(SystemExit):
        call_command("audit_verify", stdout=io.StringIO(), stderr=io.StringIO())


def test_an_event_with_nothing_to_conceal_hashes_as_before_the_column_existed(world, trail):
    event = AuditEvent.objects.filter(conceal="").order_by("seq").last()
    old_form = chained_fields({name: getattr(event, name) for name in CHAINED_FIELDS})
    assert event.hash == link_hash(event.prev_hash, old_form)

"""The audit trail reads as people speak: a record by its name ("Response: CORE-10,
6 months, RC-BUC-0001-K"), a person by their full name, a changed answer by its question
and a code by its label, on the page and in the CSV. The ledger's own identifiers stay at
hand (a title on the page, their own columns in the CSV) but are not what the reader sees."""

import csv
import io
import re
from html import unescape

import pytest

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.roles import Duty, Role
from crf.entry import response_update
from crf.models import Response
from crf.selectors import schedule_of
from sites.accounts import account_create
from sites.memberships import delegation_grant, membership_grant
from trial.config import config_of

from ..access import crf_family, crf_response
from ..factories import PASSWORD, MembershipFactory
from ..pages.plain_words import visible_text as visible


def row_of(html: str, seq: int) -> str:
    match = re.search(rf'<tr[^>]*data-seq="{seq}".*?</tr>', html, re.S)
    assert match, f"event #{seq} is not on the page"
    return unescape(match.group())


def csv_rows(client, url="/audit/export.csv") -> list[dict]:
    answer = client.get(url)
    assert answer.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))


def item_question(spec, key: str) -> str:
    """A grid item's question as the spec words it (`item_label`, or the grid's label)."""
    grid_key, _, n = key.rpartition("_")
    grid = spec.field(grid_key)
    return (grid.item_label or f"{grid.label} item {{n}}").replace("{n}", n)


@pytest.fixture
def edited(world):
    """A BUC family's CORE-10 at 6 months, its first item corrected with a reason."""
    response = crf_response(world)
    old = response.values["item_1"]
    new = (old + 1) % 5
    response_update(
        response=response,
        values={"item_1": new},
        replace=False,
        reason="Transcribed from the wrong line of the paper form",
        actor=world.assessor_buc,
        channel=Channel.WEB,
    )
    event = AuditEvent.objects.get(event_type=EventType.RESPONSE_CHANGED, object_id=response.pk)
    return response, event, old, new


@pytest.mark.requirement("AUD-1")
def test_a_response_edit_reads_by_form_visit_family_and_question(world, page, edited):
    response, event, old, new = edited
    spec = response.definition.spec
    visit = schedule_of(world.trial).visit("month_6").label
    subject = f"Response: {spec.title}, {visit}, {response.family.identifier}"
    question = item_question(spec, "item_1")
    assert subject == f"Response: CORE-10, 6 months, {response.family.identifier}"
    assert question == "CORE-10 item 1"

    html = page(world.monitor_buc).get("/audit/").content.decode()
    row = row_of(html, event.seq)
    assert f'data-testid="subject">{subject}</small>' in row
    assert f"<strong>{question}</strong>: " in row
    assert f'<span class="old">{old}</span> → <span class="new">{new}</span>' in row
    assert world.assessor_buc.get_full_name() in visible(row)
    assert "Outcome assessor (blinded)" in visible(row)
    # The ledger's identifiers stay at hand, out of the text.
    assert f'title="crf.Response {response.pk}"' in row and 'title="values.item_1"' in row
    text = visible(html)
    assert "crf.Response" not in text and "values." not in text and "item_1" not in text


def test_a_response_edit_reads_the_same_in_the_csv(world, page, edited):
    response, event, old, new = edited
    spec = response.definition.spec
    visit = schedule_of(world.trial).visit("month_6").label
    row = next(r for r in csv_rows(page(world.monitor_buc)) if r["seq"] == str(event.seq))
    assert row["object_name"] == f"Response: {spec.title}, {visit}, {response.family.identifier}"
    assert f"{item_question(spec, 'item_1')}: {old} → {new}" in row["changes_in_words"]
    assert row["actor_name"] == world.assessor_buc.get_full_name()
    assert row["event"] == "Form changed"
    for worded in ("object_name", "changes_in_words", "actor_name", "event"):
        assert "crf.Response" not in row[worded] and "values." not in row[worded]
    # The ledger's fields as they are, so that the hash chain can be checked from the file.
    assert (row["object_type"], row["object_id"]) == ("crf.Response", str(response.pk))
    assert '"values.item_1"' in row["changes"]


def test_a_choice_is_shown_as_its_label(world, page, edited):
    response, _, _, _ = edited
    demographics = Response.objects.get(family=response.family, form="demographics")
    spec = demographics.definition.spec
    ethnicity = spec.field("ethnicity")
    label = dict(ethnicity.choices)[str(demographics.values["ethnicity"])]
    assert label != demographics.values["ethnicity"]
    entered = AuditEvent.objects.get(
        event_type=EventType.RESPONSE_ENTERED, object_id=demographics.pk
    )
    html = page(world.monitor_buc).get("/audit/?page=1&event_type=response_entered").content
    row = row_of(html.decode(), entered.seq)
    assert f'<strong>{ethnicity.label}</strong>: <span class="old">—</span> → ' in row
    assert f'<span class="new">{label}</span>' in row


def test_a_family_reads_by_its_identifier_and_its_legal_status_by_its_label(world, page):
    family = crf_family(world)
    enrolled = AuditEvent.objects.get(
        event_type=EventType.FAMILY_ENROLLED, family=family.identifier
    )
    status = config_of(world.trial).legal_statuses[family.legal_status]
    client = page(world.monitor_buc)

    row = row_of(client.get("/audit/?event_type=family_enrolled").content.decode(), enrolled.seq)
    assert f'data-testid="subject">Family: {family.identifier}</small>' in row
    assert '<strong>Legal status</strong>: <span class="old">—</span> → ' in row
    assert f'<span class="new">{status}</span>' in row
    assert "trial.Family" not in visible(row) and family.legal_status not in visible(row)

    line = next(r for r in csv_rows(client) if r["seq"] == str(enrolled.seq))
    assert line["object_name"] == f"Family: {family.identifier}"
    assert f"Legal status: — → {status}" in line["changes_in_words"]


def test_an_account_reads_by_the_persons_full_name(world, page):
    user = account_create(
        actor=world.manager,
        channel=Channel.WEB,
        trial=world.trial,
        username="nia.jones",
        email="nia.jones@nhs.example",
        password=PASSWORD,
        first_name="Nia",
        last_name="Jones",
    )
    created = AuditEvent.objects.get(event_type=EventType.ACCOUNT_CREATED, object_id=user.pk)
    client = page(world.manager)

    row = row_of(client.get("/audit/").content.decode(), created.seq)
    assert 'data-testid="subject">Account: Nia Jones</small>' in row
    assert f'data-testid="actor">{world.manager.get_full_name()}</span>' in row
    assert (
        '<strong>First name</strong>: <span class="old">—</span> → <span class="new">Nia</span>'
        in row
    )
    assert f'title="auth.User {user.pk}"' in row and "auth.User" not in visible(row)

    line = next(r for r in csv_rows(client) if r["seq"] == str(created.seq))
    assert line["object_name"] == "Account: Nia Jones"
    assert line["actor_name"] == world.manager.get_full_name()
    assert "First name: — → Nia" in line["changes_in_words"]


@pytest.mark.requirement("AUD-4")
def test_a_role_and_a_duty_read_by_the_person_the_role_and_the_site(world, page):
    membership = membership_grant(
        actor=world.manager,
        channel=Channel.WEB,
        user=world.coord_oxf,
        trial=world.trial,
        role=Role.SITE_COORDINATOR,
        site=world.buc,
    )
    delegation_grant(
        membership=membership, duty=Duty.ENTER_DATA, actor=world.manager, channel=Channel.WEB
    )
    person = world.coord_oxf.get_full_name()
    role = f"{person}, Site coordinator at BUC"
    client = page(world.manager)

    html = client.get("/audit/").content.decode()
    granted = AuditEvent.objects.get(event_type=EventType.MEMBERSHIP_GRANTED)
    row = row_of(html, granted.seq)
    assert f'data-testid="subject">Role: {role}</small>' in row
    assert (
        f'<strong>Person</strong>: <span class="old">—</span> → <span class="new">{person}</' in row
    )
    assert '<span class="new">Site coordinator</span>' in row
    delegated = AuditEvent.objects.get(event_type=EventType.DELEGATION_GRANTED)
    row = row_of(html, delegated.seq)
    assert f'data-testid="subject">Duty: Enter data, {person} at BUC</small>' in row
    assert f'<strong>Role</strong>: <span class="old">—</span> → <span class="new">{role}</' in row
    text = visible(html)
    assert "sites.Membership" not in text and "site_coordinator" not in text

    lines = {r["seq"]: r for r in csv_rows(client)}
    assert lines[str(granted.seq)]["object_name"] == f"Role: {role}"
    assert lines[str(delegated.seq)]["object_name"] == f"Duty: Enter data, {person} at BUC"


def test_a_blinded_reader_is_not_told_which_form_a_concealed_event_was_about(world, page):
    """A monitor who is also BUC's blinded assessor: the intervention receipt's change is
    named by its kind of record only, not by the form, on the page and in the CSV."""
    receipt = crf_response(world, "intervention_receipt")
    response_update(
        response=receipt,
        values={"sessions_1": 2 if receipt.values.get("sessions_1") == 1 else 1},
        replace=False,
        reason="recounted",
        actor=world.coord_buc,
        channel=Channel.WEB,
    )
    MembershipFactory(
        user=world.assessor_buc,
        trial=world.trial,
        site=world.buc,
        role=Role.MONITOR,
        starts_on=world.start,
    )
    changed = AuditEvent.objects.get(event_type=EventType.RESPONSE_CHANGED, object_id=receipt.pk)
    title = receipt.definition.spec.title
    client = page(world.assessor_buc)

    row = row_of(client.get("/audit/").content.decode(), changed.seq)
    assert 'data-testid="subject">Response</small>' in row and title not in row
    assert 'data-testid="arm-concealed"' in row

    line = next(r for r in csv_rows(client) if r["seq"] == str(changed.seq))
    assert line["object_name"] == "Response" and line["changes_in_words"] == ""
    assert title not in "".join(r["object_name"] + r["changes_in_words"] for r in csv_rows(client))


def test_the_kind_of_record_filter_takes_the_name_people_use(world, page, edited):
    client = page(world.monitor_buc)
    by_noun = client.get("/audit/?object_type=family").content.decode()
    by_label = client.get("/audit/?object_type=trial.Family").content.decode()
    seqs = re.findall(r'data-seq="(\d+)"', by_noun)
    assert seqs and seqs == re.findall(r'data-seq="(\d+)"', by_label)
    assert visible(by_noun).count("Family: ") == len(seqs)


def test_a_blinded_reader_is_not_told_which_form_a_freeze_holds(world, page):
    """Freezing and releasing the intervention receipt would name the form: both events are
    concealed from a viewer blinded at the site, as the form's own events are."""
    from dataset.services import data_freeze, freeze_release

    receipt = crf_response(world, "intervention_receipt")
    freeze = data_freeze(
        actor=world.manager, channel=Channel.WEB, reason="checking", response=receipt
    )
    freeze_release(freeze=freeze, actor=world.manager, channel=Channel.WEB, reason="checked")
    MembershipFactory(
        user=world.assessor_buc,
        trial=world.trial,
        site=world.buc,
        role=Role.MONITOR,
        starts_on=world.start,
    )
    title = receipt.definition.spec.title
    events = AuditEvent.objects.filter(event_type__in=["data_frozen", "freeze_released"])
    assert events.count() == 2 and {e.conceal for e in events} == {"event"}
    blinded = page(world.assessor_buc)
    html = blinded.get("/audit/").content.decode()
    for event in events:
        assert title not in row_of(html, event.seq)
    assert title not in "".join(r["object_name"] + r["changes_in_words"] for r in csv_rows(blinded))
    # The trial manager, not blinded, still reads which form was frozen.
    assert title in row_of(page(world.manager).get("/audit/").content.decode(), events[0].seq)

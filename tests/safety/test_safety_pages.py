"""The safety pages through Django's test client: the listing (/safety/) narrowed by each of
its filters, downloaded as CSV with the same filters, a bad filter answered 400 naming its
field, and scoped to the viewer's sites; and the family's page listing its own events."""

import csv
import html
import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format

from core.channels import Channel
from safety.selectors import CSV_HEADER
from safety.services import sae_assess
from tests.access import another_family_at_buc, family_at
from tests.factories import PASSWORD

from .conftest import report

pytestmark = pytest.mark.django_db

LINKED_EVENT = re.compile(r'href="/safety/(\d+)/"')


@pytest.fixture
def events(world):
    """At BUC: an SAE on time and unrelated; one reported late, probably related, its PI's
    assessment overdue; a safeguarding incident. At OXF: an SAE its PI assessed as possibly
    related. All reported by the site's coordinator."""
    buc, oxf = family_at(world, "BUC"), family_at(world, "OXF")
    on_time = report(world, buc, seriousness=["hospitalisation"], relatedness="unrelated")
    overdue = report(
        world,
        buc,
        ago=timedelta(hours=30),
        late_reason="Told at the weekend.",
        seriousness=["life_threatening"],
        relatedness="probable",
    )
    safeguarding = report(
        world,
        buc,
        kind="safeguarding",
        relatedness="unlikely",
        safeguarding_referral=True,
        referral_to="Buckinghamshire children's services",
        referral_on=timezone.localdate(),
    )
    assessed = sae_assess(
        event=report(
            world,
            oxf,
            actor=world.coord_oxf,
            seriousness=["hospitalisation", "disability"],
            relatedness="possible",
        ),
        seriousness=["hospitalisation", "disability"],
        relatedness="possible",
        expectedness="expected",
        password=PASSWORD,
        actor=world.pi_oxf,
        channel=Channel.WEB,
    )
    return SimpleNamespace(
        on_time=on_time, overdue=overdue, safeguarding=safeguarding, assessed=assessed
    )


def listed(client, query: str = "") -> set[int]:
    answer = client.get(f"/safety/?{query}")
    assert answer.status_code == 200, answer.content.decode()[:500]
    return {int(pk) for pk in LINKED_EVENT.findall(answer.content.decode())}


def downloaded(client, query: str = "") -> list[list[str]]:
    answer = client.get(f"/safety/?{query}&format=csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))


def test_each_filter_narrows_the_listing(world, page, events):
    client = page(world.chief)
    e = events
    everything = {e.on_time.pk, e.overdue.pk, e.safeguarding.pk, e.assessed.pk}
    for query, expected in (
        ("", everything),
        ("site=BUC", {e.on_time.pk, e.overdue.pk, e.safeguarding.pk}),
        ("site=oxf", {e.assessed.pk}),
        ("kind=safeguarding", {e.safeguarding.pk}),
        ("kind=sae", {e.on_time.pk, e.overdue.pk, e.assessed.pk}),
        ("seriousness=hospitalisation", {e.on_time.pk, e.assessed.pk}),
        ("seriousness=life_threatening", {e.overdue.pk}),
        ("seriousness=death", set()),
        ("relatedness=probable", {e.overdue.pk}),
        ("relatedness=possible", {e.assessed.pk}),
        ("relatedness=unrelated", {e.on_time.pk}),
        ("status=assessed", {e.assessed.pk}),
        ("status=reported", {e.on_time.pk, e.overdue.pk, e.safeguarding.pk}),
        ("status=closed", set()),
        ("overdue=yes", {e.overdue.pk}),
        ("overdue=no", everything),
        ("site=BUC&seriousness=hospitalisation", {e.on_time.pk}),
        ("site=OXF&relatedness=probable", set()),
    ):
        assert listed(client, query) == expected, query
    page_text = client.get("/safety/?overdue=yes").content.decode()
    assert "Overdue: the PI&#x27;s assessment" in page_text
    assert "1 event, 1 open; 2 steps late, of which 1 overdue now." in page_text


def test_the_csv_has_its_header_and_the_filtered_rows(world, page, events):
    client = page(world.chief)
    # The page links its CSV with the filters chosen.
    shown = client.get("/safety/?site=BUC&kind=sae").content.decode()
    assert "format=csv" in html.unescape(shown) and "site=BUC&kind=sae" in html.unescape(shown)
    header, *rows = downloaded(client, "site=BUC&kind=sae")
    assert header == CSV_HEADER
    by_id = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_id) == {events.on_time.pk, events.overdue.pk}
    late = by_id[events.overdue.pk]
    assert late["family"] == events.overdue.family.identifier and late["site"] == "BUC"
    assert late["status"] == "reported" and late["relatedness_pi"] == "probable"
    assert late["seriousness"] == "life_threatening"
    assert late["late_steps"] == "report;assess" and late["overdue_steps"] == "assess"
    assert by_id[events.on_time.pk]["overdue_steps"] == ""
    header, *rows = downloaded(client, "status=assessed")
    assert [int(r[0]) for r in rows] == [events.assessed.pk]
    assert dict(zip(header, rows[0], strict=True))["site"] == "OXF"
    header, *rows = downloaded(client, "seriousness=death")
    assert header == CSV_HEADER and rows == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("seriousness=death-ish", "seriousness", "Choose seriousness from: death,"),
        ("relatedness=maybe", "relatedness", "Choose relatedness from: unrelated,"),
        ("status=lost", "status", "Choose status from: reported,"),
        ("kind=gossip", "kind", "Choose kind from: sae, safeguarding."),
        ("overdue=perhaps", "overdue", "overdue is yes or no."),
        ("site=XYZ", "site", "There is no site &#x27;XYZ&#x27; among yours."),
    ],
)
def test_a_bad_filter_is_400_naming_its_field_on_the_page_and_its_csv(
    world, page, query, field, message
):
    client = page(world.chief)
    for url in (f"/safety/?{query}", f"/safety/?{query}&format=csv"):
        answer = client.get(url)
        assert answer.status_code == 400
        assert answer["Content-Type"].startswith("text/html")
        body = answer.content.decode()
        assert "There is a problem" in body and message in body
        assert f'href="#id_{field}"' in body
        assert 'data-testid="safety-row"' not in body


def test_a_pi_sees_only_their_own_sites_events(world, page, events):
    buc_events = {events.on_time.pk, events.overdue.pk, events.safeguarding.pk}
    client = page(world.pi_buc)
    assert listed(client) == buc_events
    assert listed(client, "relatedness=possible") == set()  # OXF's, not theirs
    header, *rows = downloaded(client)
    assert {int(r[0]) for r in rows} == buc_events
    assert {r[header.index("site")] for r in rows} == {"BUC"}
    # Another site's code is not theirs to filter by, nor its event to open.
    refused = client.get("/safety/?site=OXF")
    assert refused.status_code == 400
    assert "There is no site &#x27;OXF&#x27; among yours." in refused.content.decode()
    assert client.get(f"/safety/{events.assessed.pk}/").status_code == 404
    assert listed(page(world.pi_oxf)) == {events.assessed.pk}
    # Blinded at BUC, the assessor is refused the listing as a whole.
    assert page(world.assessor_buc).get("/safety/").status_code == 403


# The family's page


def _family_safety_rows(answer) -> dict[int, tuple[str, str]]:
    """The family page's safety table: event id -> (when the site became aware, status)."""
    body = answer.content.decode()
    table = body[body.index('data-testid="family-safety"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(
        r'<a href="/safety/(\d+)/">[^<]*</a></td><td class="nhsuk-table__cell">([^<]*)</td>'
        r'<td class="nhsuk-table__cell">([^<]*)</td>',
        table,
    )
    return {int(pk): (aware, html.unescape(status)) for pk, aware, status in rows}


def test_the_family_page_lists_its_own_safety_events_with_their_status(world, page):
    family = family_at(world, "BUC")
    other = another_family_at_buc(world)
    waiting = report(world, family, ago=timedelta(hours=3))
    assessed = sae_assess(
        event=report(world, family, ago=timedelta(hours=5)),
        seriousness=["hospitalisation"],
        relatedness="unrelated",
        expectedness="expected",
        password=PASSWORD,
        actor=world.pi_buc,
        channel=Channel.WEB,
    )
    elsewhere = report(world, other)
    answer = page(world.coord_buc).get(f"/families/{family.pk}/")
    assert answer.status_code == 200
    rows = _family_safety_rows(answer)

    def aware(event) -> str:
        return date_format(timezone.localtime(event.aware_at), "j M Y H:i")

    assert rows == {
        waiting.pk: (aware(waiting), "Waiting for the PI's assessment"),
        assessed.pk: (aware(assessed), "Waiting for the chief investigator's review"),
    }
    assert list(rows) == [waiting.pk, assessed.pk]  # the latest the site learned of first
    assert f"/safety/{elsewhere.pk}/" not in answer.content.decode()
    theirs = _family_safety_rows(page(world.coord_buc).get(f"/families/{other.pk}/"))
    assert list(theirs) == [elsewhere.pk]
    # Blinded at BUC, the assessor sees the family but none of its safety events.
    blinded = page(world.assessor_buc).get(f"/families/{family.pk}/")
    assert blinded.status_code == 200 and _family_safety_rows(blinded) == {}
    assert "None reported that you may see." in blinded.content.decode()

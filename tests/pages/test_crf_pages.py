"""The eCRF pages: entry rendered from the spec, conditions applied by the preview (what
htmx calls as answers change), errors beside fields with nothing written, reasons."""

import pytest

from audit.models import AuditEvent
from core.clock import today
from crf.models import Response
from tests.access import crf_family, crf_response

pytestmark = pytest.mark.django_db


def test_the_entry_page_is_rendered_from_the_spec(world, page):
    family = crf_family(world)
    body = page(world.assessor_buc).get(f"/families/{family.pk}/enter/month_6/psi4sf/")
    html = body.content.decode()
    assert body.status_code == 200
    assert html.count('type="number"') == 36 and "PSI-4-SF item 36" in html
    assert 'name="item_1__missing"' in html and "Declined to answer" in html


def test_a_condition_shows_its_field_only_when_answered_so(world, page):
    family = crf_family(world)
    definition = crf_response(world).definition.__class__.objects.get(form="assessor_guess")
    url = f"/families/{family.pk}/forms/{definition.pk}/preview/"
    client = page(world.assessor_buc)
    hidden = client.post(url, {"guess": "dont_know"}).content.decode()
    shown = client.post(url, {"guess": "USUAL"}).content.decode()
    assert 'name="confidence"' not in hidden and 'name="confidence"' in shown
    assert 'hx-post="' in shown  # the guess re-renders the fields when it changes


def test_bad_input_on_the_page_is_shown_beside_the_field_and_writes_nothing(world, page):
    family = crf_family(world)
    client = page(world.assessor_buc)  # signing in is itself recorded: count after it
    before = (Response.objects.count(), AuditEvent.objects.count())
    values = {"completed_on": today().isoformat(), "action": "complete"}
    values.update({f"item_{n}": "3" for n in range(1, 11)})
    values["item_4"] = "three"
    values["item_9"] = "7"
    answer = client.post(f"/families/{family.pk}/enter/month_6/core10/", values)
    html = answer.content.decode()
    assert answer.status_code == 400
    assert 'data-field="item_4">must be a whole number' in html
    assert 'data-field="item_9">must be at most 4' in html
    assert 'value="three"' in html  # what was typed stays for correction
    assert (Response.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.requirement("AUD-3")
def test_a_draft_then_complete_then_a_change_that_needs_a_reason(world, page):
    family = crf_family(world)
    client = page(world.assessor_buc)
    values = {"completed_on": today().isoformat()}
    values.update({f"item_{n}": "1" for n in range(1, 10)})
    draft = client.post(
        f"/families/{family.pk}/enter/month_6/core10/", {**values, "action": "draft"}
    )
    response = Response.objects.get(family=family, visit="month_6", form="core10")
    assert draft.status_code == 302 and response.status == "draft"
    url = f"/families/{family.pk}/responses/{response.pk}/"
    done = client.post(url, {**values, "item_10": "2", "action": "save", "revision": "1"})
    response.refresh_from_db()
    assert done.status_code == 302 and response.status == "complete"
    refused = client.post(url, {**values, "item_10": "0", "action": "save", "revision": "2"})
    assert refused.status_code == 400 and 'data-field="reason"' in refused.content.decode()
    changed = client.post(
        url,
        {**values, "item_10": "0", "action": "save", "revision": "2", "reason": "misheard"},
    )
    response.refresh_from_db()
    assert changed.status_code == 302 and response.values["item_10"] == 0
    assert response.history.first().history_change_reason == "misheard"


def test_the_dashboard_lists_overdue_forms_and_queries_by_age(world, page):
    from tests.access import crf_query
    from tests.crf.conftest import randomised

    randomised(world, "OXF", days_ago=215)
    crf_query(world)
    html = page(world.manager).get("/forms/").content.decode()
    assert "overdue" in html and "RC-OXF" in html
    cell = '<td class="nhsuk-table__cell">{}</td>'
    assert cell.format("BUC") + cell.format(1) in html  # one open query, up to 7 days old


def test_the_dashboard_finds_a_familys_forms_and_queries_by_identifier(world, page):
    from tests.access import crf_query
    from tests.crf.conftest import randomised

    oxf = randomised(world, "OXF", days_ago=215)
    query = crf_query(world)
    client = page(world.manager)
    mine = client.get("/forms/", {"q": "oxf"}).content.decode()
    assert oxf.identifier in mine
    assert query.family.identifier not in mine.split('data-testid="open-queries"')[1]
    theirs = client.get("/forms/", {"q": query.family.identifier}).content.decode()
    assert oxf.identifier not in theirs.split('data-testid="outstanding"')[1]
    assert query.family.identifier in theirs.split('data-testid="open-queries"')[1]


def test_the_randomise_step_names_the_baseline_forms_still_to_complete(world, page):
    from tests.access import family_at, sealed_test_list
    from tests.crf.conftest import enter, load_forms

    load_forms(world)
    sealed_test_list(world)
    family = family_at(world, "BUC")
    enter(world, family, "demographics", "baseline")
    client = page(world.coord_buc)
    html = client.get(f"/families/{family.pk}/randomise/").content.decode()
    assert "Baseline is not complete" in html and "CORE-10" in html
    assert "Demographics" not in html.split("Baseline is not complete")[1].split("</")[0]
    # The refusal links to where it is put right: the casebook's baseline visit.
    assert f'href="/families/{family.pk}/casebook/#visit-baseline"' in html
    assert (
        f'href="/families/{family.pk}/casebook/"'
        in client.get(f"/families/{family.pk}/").content.decode()
    )

"""Every action on a form's page is confirmed; a refusal says what to do, once."""

import pytest

from tests.crf.conftest import randomised
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_each_action_on_a_forms_page_is_confirmed(world, page):
    family = randomised(world, "BUC")
    response = family.responses.filter(queries__isnull=True, form="psoc").get()
    url = f"/families/{family.pk}/responses/{response.pk}/"
    monitor = page(world.monitor_buc)
    verified = monitor.post(url, {"action": "verify"}, follow=True)
    assert "Source-verified." in verified.content.decode()
    raised = monitor.post(
        url, {"action": "raise", "field": "item_1", "text": "Check it."}, follow=True
    )
    assert "Query raised" in raised.content.decode()
    query = response.queries.get()
    answered = page(world.coord_buc).post(
        url, {"action": "answer", "query": query.pk, "text": "Checked."}, follow=True
    )
    assert "Query answered" in answered.content.decode()


def test_an_empty_query_is_refused_once_with_what_to_do(world, page):
    family = randomised(world, "BUC")
    response = family.responses.get(visit="baseline", form="core10")
    answer = page(world.monitor_buc).post(
        f"/families/{family.pk}/responses/{response.pk}/",
        {"action": "raise", "field": "item_2", "text": "  "},
    )
    html = answer.content.decode()
    assert answer.status_code == 400 and html.count("Write the text.") == 1
    assert not response.queries.exists()


def test_a_blank_signature_asks_for_the_password_and_a_signature_is_confirmed(world, page):
    family = randomised(world, "BUC")
    pi = page(world.pi_buc)
    blank = pi.post(f"/families/{family.pk}/sign/", {"password": "", "meaning": "approved"})
    html = blank.content.decode()
    assert "Enter your password to sign the casebook." in html
    assert "That is not your password" not in html
    signed = pi.post(
        f"/families/{family.pk}/sign/",
        {"password": PASSWORD, "meaning": "approved"},
        follow=True,
    )
    assert "Casebook signed." in signed.content.decode()


def test_states_and_questions_are_shown_in_words(world, page):
    family = randomised(world, "BUC", days_ago=190)
    casebook = page(world.coord_buc).get(f"/families/{family.pk}/casebook/").content.decode()
    assert "Not started" in casebook or "Overdue" in casebook
    assert "Notstarted" not in casebook and "not_started" not in casebook
    response = family.responses.get(visit="baseline", form="psi4sf")
    shown = page(world.monitor_buc).get(f"/families/{family.pk}/responses/{response.pk}/")
    html = shown.content.decode()
    assert '<option value="item_3">PSI-4-SF item 3</option>' in html
    assert ">item_3<" not in html


def test_screening_shows_referrers_bands_and_reasons_in_words(world, page):
    from tests.access import open_screening

    record = open_screening(world, "BUC")
    listed = page(world.coord_buc).get("/screening/").content.decode()
    detail = page(world.coord_buc).get(f"/screening/{record.pk}/").content.decode()
    label = {"social_worker": "Social worker"}.get(record.referrer_type)
    for html in (listed, detail):
        assert f">{record.referrer_type}<" not in html and "by social_worker" not in html
    if label:
        assert label in listed
    assert f"band {record.age_band}" not in detail

"""Lists page and search: no silent cap; each page keeps the other filters."""

import pytest

from sites import pagekit
from tests.access import open_screening

pytestmark = pytest.mark.django_db


def test_the_screening_log_pages_and_searches_without_a_cap(world, page, monkeypatch):
    records = [open_screening(world, "BUC") for _ in range(3)]
    client = page(world.coord_buc)
    monkeypatch.setitem(pagekit.paged.__kwdefaults__, "per_page", 2)
    first = client.get("/screening/").content.decode()
    assert "Showing 1 to 2 of 3" in first and 'data-testid="next-page"' in first
    second = client.get(f"/screening/?site={world.buc.pk}&page=2").content.decode()
    assert "Showing 3 to 3 of 3" in second and 'rel="prev"' in second
    assert f"?site={world.buc.pk}&amp;page=1" in second  # the filter is kept
    found = client.get(f"/screening/?q={records[1].identifier[-6:]}").content.decode()
    assert records[1].identifier in found and records[0].identifier not in found
    nothing = client.get("/screening/?q=zzzz").content.decode()
    assert "No referral's identifier contains" in nothing


def test_the_families_and_the_forms_due_page_without_a_cap(world, page, monkeypatch):
    from tests.access import family_at
    from tests.crf.conftest import load_forms

    load_forms(world)
    family = family_at(world, "BUC")
    monkeypatch.setitem(pagekit.paged.__kwdefaults__, "per_page", 2)
    families = page(world.manager).get("/families/").content.decode()
    assert family.identifier in families and "Showing 1 to 1 of 1" in families
    forms = page(world.coord_buc).get("/forms/").content.decode()
    assert "Showing 1 to 2 of 7" in forms  # the family's seven baseline forms, two a page

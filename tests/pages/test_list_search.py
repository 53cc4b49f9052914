"""Every list's search box takes whatever is typed: control characters (a NUL, which
PostgreSQL refuses in a string) are dropped, never a 500, and the list still answers."""

import pytest

from tests.access import family_at

LISTS = ["/screening/", "/families/", "/forms/", "/people/"]


@pytest.mark.parametrize("url", LISTS)
def test_a_search_with_a_nul_or_control_characters_answers_the_list(world, page, url):
    family = family_at(world, "BUC")
    client = page(world.coord_buc)
    answer = client.get(url, {"q": "\x00RC-\x07BUC\x1b"})
    assert answer.status_code == 200
    if url == "/families/":  # the same search as "RC-BUC": the family is found
        assert family.identifier in answer.content.decode()


def test_a_search_is_bounded_and_trimmed(world, page):
    family = family_at(world, "BUC")
    client = page(world.coord_buc)
    found = client.get("/families/", {"q": f"  {family.identifier}  "}).content.decode()
    assert family.identifier in found
    too_long = client.get("/families/", {"q": "x" * 5000})
    assert too_long.status_code == 200 and "x" * 41 not in too_long.content.decode()

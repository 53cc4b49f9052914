"""A page's search or filter that takes a trial identifier checks its check character: a
mistyped one answers 400 with the message beside the box and in the error summary, instead
of an empty list. Part of an identifier still searches; the right one finds the family."""

import pytest

from tests.access import consent_v1, crf_family, family_at, open_screening
from trial.identifiers import CHECK_SYMBOLS

WRONG = "The check character does not match: look at the last character."
SEARCHES = ["/screening/", "/families/", "/forms/"]


def _mistyped(identifier: str) -> str:
    return identifier[:-1] + next(c for c in CHECK_SYMBOLS if c != identifier[-1])


def _second_family(world):
    """Another family at BUC, enrolled after the first (RC-BUC-0002-?)."""
    from tests.trial.conftest import consent, enrol

    version = consent_v1(world)
    return enrol(
        world,
        version,
        screening=open_screening(world, "BUC"),
        actor=world.coord_buc,
        consents=[(1, consent(world, version, taken_by=world.coord_buc))],
    )


def _shows_the_error(answer, field: str) -> None:
    assert answer.status_code == 400
    body = answer.content.decode()
    assert body.count(WRONG) == 2, "once in the error summary, once beside the field"
    assert 'data-testid="error-summary"' in body
    assert f'data-field="{field}"' in body and "nhsuk-form-group--error" in body


@pytest.mark.parametrize("url", SEARCHES)
def test_a_search_for_an_identifier_with_a_wrong_check_character_is_400(world, page, url):
    family = family_at(world, "BUC")
    answer = page(world.coord_buc).get(url, {"q": _mistyped(family.identifier)})
    _shows_the_error(answer, "q")
    assert 'href="#q"' in answer.content.decode()
    assert _mistyped(family.identifier) in answer.content.decode()  # kept in the box


def test_a_referral_s_identifier_mistyped_is_400_on_the_screening_log(world, page):
    family = family_at(world, "BUC")
    answer = page(world.coord_buc).get(
        "/screening/", {"q": _mistyped(family.screening.identifier).lower()}
    )
    _shows_the_error(answer, "q")


@pytest.mark.parametrize("url", SEARCHES)
def test_part_of_an_identifier_still_searches(world, page, url):
    family = crf_family(world, "BUC")
    other = _second_family(world)
    client = page(world.coord_buc)
    answer = client.get(url, {"q": family.identifier[:-2]})  # RC-BUC-0001, no check character
    assert answer.status_code == 200
    if url != "/screening/":
        assert family.identifier in answer.content.decode()
        assert other.identifier not in answer.content.decode()
    assert WRONG not in answer.content.decode()


def test_the_right_identifier_finds_the_family(world, page):
    family = crf_family(world, "BUC")
    other = _second_family(world)
    client = page(world.coord_buc)
    for url in ("/families/", "/forms/"):
        for typed in (family.identifier, family.identifier.lower()):
            answer = client.get(url, {"q": typed})
            assert answer.status_code == 200
            assert family.identifier in answer.content.decode()
            assert other.identifier not in answer.content.decode()
    answer = client.get("/screening/", {"q": family.screening.identifier})
    assert answer.status_code == 200
    assert family.screening.identifier in answer.content.decode()
    assert other.screening.identifier not in answer.content.decode()


def test_the_audit_trail_s_family_filter_checks_the_identifier(world, page):
    family = family_at(world, "BUC")
    client = page(world.monitor_buc)
    answer = client.get("/audit/", {"family": _mistyped(family.identifier)})
    _shows_the_error(answer, "family")
    right = client.get("/audit/", {"family": family.identifier.lower()})
    assert right.status_code == 200 and WRONG not in right.content.decode()
    assert family.identifier in right.content.decode()


def test_the_audit_export_refuses_a_mistyped_family(world, page):
    family = family_at(world, "BUC")
    answer = page(world.monitor_buc).get(
        "/audit/export.csv", {"family": _mistyped(family.identifier)}
    )
    assert answer.status_code == 400
    assert "family" in answer.content.decode() and WRONG in answer.content.decode()

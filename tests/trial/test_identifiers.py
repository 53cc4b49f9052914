import pytest
from hypothesis import given
from hypothesis import strategies as st

from trial.identifiers import (
    CHARACTERS,
    CHECK_SYMBOLS,
    check_character,
    family_identifier,
    is_valid_identifier,
    is_valid_nhs_number,
    screening_identifier,
)

TYPED = CHECK_SYMBOLS + "-"  # what a person could type in place of any character


def mistakes(identifier: str):
    """Every single-character substitution and every adjacent transposition."""
    for i, char in enumerate(identifier):
        for other in TYPED:
            if other != char:
                yield identifier[:i] + other + identifier[i + 1 :]
    for i in range(len(identifier) - 1):
        a, b = identifier[i], identifier[i + 1]
        if a != b:
            yield identifier[:i] + b + a + identifier[i + 2 :]


def test_the_example_identifier_is_well_formed():
    identifier = family_identifier("RC", "BUC", 7)
    assert identifier.startswith("RC-BUC-0007-") and is_valid_identifier(identifier)


def test_every_substitution_and_adjacent_swap_is_caught_for_every_identifier_of_a_site():
    """Exhaustive over sequences 1-9999 of a site: about 1.4 million mistaken identifiers,
    none passing. (The site code changes nothing in the algebra; the whole sequence range
    is what varies.)"""
    missed = []
    for sequence in range(1, 10_000):
        identifier = family_identifier("RC", "BUC", sequence)
        assert is_valid_identifier(identifier)
        missed.extend(m for m in mistakes(identifier) if is_valid_identifier(m))
        if missed:
            break
    assert missed == []


def test_the_hybrid_systems_blind_spot_is_covered():
    """MOD 37,36 gives RCBUC1889 and RCBUC1898 the same check character; MOD 37-2 does not."""
    assert family_identifier("RC", "BUC", 1889)[-1] != family_identifier("RC", "BUC", 1898)[-1]


def test_screening_identifiers_are_checked_too():
    identifier = screening_identifier("RC", "BUC", 12)
    assert identifier.startswith("RC-S-BUC-0012-") and is_valid_identifier(identifier)
    assert not any(is_valid_identifier(m) for m in mistakes(identifier))


@given(st.text(alphabet=CHARACTERS, min_size=1, max_size=20))
def test_the_check_character_completes_any_body(body):
    from trial.identifiers import is_valid_check

    assert is_valid_check(body + check_character(body))


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("9434765919", True),
        ("943 476 5919", True),
        ("9434765918", False),
        ("943476591", False),
        ("abcdefghij", False),
        ("", False),
    ],
)
def test_nhs_numbers_are_checked_by_modulus_11(number, valid):
    assert is_valid_nhs_number(number) is valid

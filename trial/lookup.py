"""Identifiers as people type them: checked before they are looked up, so a mistyped check
character is said to be wrong instead of finding nothing."""

import re

from core.errors import TrialError

from .identifiers import FAMILY_PATTERN, SCREENING_PATTERN, is_valid_check

WRONG_CHECK = "The check character does not match: look at the last character."
NOT_AN_IDENTIFIER = (
    "This is not a trial identifier: one looks like RC-BUC-0007-K (a family) "
    "or RC-S-BUC-0012-7 (a referral)."
)
# An identifier typed whole, whatever its last character: what a search must check before
# it matches on part of an identifier.
_WHOLE = re.compile(r"[A-Z]{2,6}-(?:S-)?[A-Z]{3}-\d{4,}-\S")


def _shown(text: str) -> str:
    return text.strip().upper()


def _checked(text: str, *, field: str) -> str:
    if not is_valid_check(text.replace("-", "")):
        raise TrialError(WRONG_CHECK, field=field)
    return text


def typed_identifier(text: str, *, field: str) -> str:
    """A family's or a referral's identifier, typed whole: well formed and its check
    character right, else a TrialError naming `field`. Returned in capitals."""
    text = _shown(text)
    if not (FAMILY_PATTERN.fullmatch(text) or SCREENING_PATTERN.fullmatch(text)):
        if _WHOLE.fullmatch(text):
            raise TrialError(WRONG_CHECK, field=field)
        raise TrialError(NOT_AN_IDENTIFIER, field=field)
    return _checked(text, field=field)


def family_identifier_typed(text: str, *, field: str) -> str:
    """A family's identifier typed whole (RC-BUC-0007-K), checked as `typed_identifier`."""
    text = typed_identifier(text, field=field)
    if not FAMILY_PATTERN.fullmatch(text):
        raise TrialError(
            "This is a referral's identifier: give the family's, like RC-BUC-0007-K.",
            field=field,
        )
    return text


def search_text(text: str, *, field: str) -> str:
    """What a search box holds: any part of an identifier (or a name where a search allows
    it) passes as typed; an identifier typed whole must have its check character right."""
    text = text.strip()
    if _WHOLE.fullmatch(text.upper()):
        typed_identifier(text, field=field)
    return text


def search_checked(text: str, *, field: str = "q") -> tuple[str, str]:
    """A page's search box: what to search for, and the message to show beside the box when
    it holds an identifier typed whole with a wrong check character ("" when it does not),
    so that the page answers 400 with the message instead of an empty list."""
    try:
        return search_text(text, field=field), ""
    except TrialError as exc:
        return text.strip(), exc.message

"""Trial identifiers with a check character. Pure Python: no Django import.

The check character follows ISO/IEC 7064 MOD 37,36 (the hybrid system for alphanumeric
strings): it catches every single wrong character and every swap of two adjacent
characters. It is computed over the identifier's letters and digits, hyphens left out:
RC-BUC-0007-? covers "RCBUC0007".
"""

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MODULUS = 36


def _fold(chars: str) -> int:
    p = MODULUS
    for char in chars:
        value = ALPHABET.index(char)
        p = (p + value) % MODULUS or MODULUS
        p = (p * 2) % (MODULUS + 1)
    return p


def check_character(body: str) -> str:
    """The character that completes `body` (capital letters and digits)."""
    if not body or any(c not in ALPHABET for c in body):
        raise ValueError(f"only capital letters and digits can be checked: {body!r}")
    return ALPHABET[(MODULUS + 1 - _fold(body)) % MODULUS]


def is_valid_check(chars: str) -> bool:
    """True when the last character is the check character of the ones before it."""
    if len(chars) < 2 or any(c not in ALPHABET for c in chars):
        return False
    p = _fold(chars[:-1])
    return (p + ALPHABET.index(chars[-1])) % MODULUS == 1


def family_identifier(trial_code: str, site_code: str, sequence: int) -> str:
    """e.g. RC-BUC-0007-K: trial, site, sequence within the site, check character."""
    body = f"{trial_code}{site_code}{sequence:04d}"
    return f"{trial_code}-{site_code}-{sequence:04d}-{check_character(body)}"


def screening_identifier(trial_code: str, site_code: str, sequence: int) -> str:
    """e.g. RC-S-BUC-0012-7: a referral's own identifier, before any consent."""
    body = f"{trial_code}S{site_code}{sequence:04d}"
    return f"{trial_code}-S-{site_code}-{sequence:04d}-{check_character(body)}"


FAMILY_PATTERN = re.compile(r"([A-Z]{2,6})-([A-Z]{3})-(\d{4,})-([0-9A-Z])")
SCREENING_PATTERN = re.compile(r"([A-Z]{2,6})-S-([A-Z]{3})-(\d{4,})-([0-9A-Z])")


def is_valid_identifier(text: str) -> bool:
    """Well formed and its check character right: what a typed identifier must pass."""
    for pattern in (FAMILY_PATTERN, SCREENING_PATTERN):
        if pattern.fullmatch(text):
            return is_valid_check(text.replace("-", ""))
    return False


def is_valid_nhs_number(text: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the first nine (NHS Digital)."""
    digits = text.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])

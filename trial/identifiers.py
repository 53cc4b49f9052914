"""Trial identifiers with a check character. Pure Python: no Django import.

The check character follows ISO/IEC 7064 MOD 37-2, the pure system for alphanumeric
strings: with the prime modulus 37 and weights that are powers of 2, a single wrong
character changes the weighted sum by (a - a') * w and a swap of two adjacent characters
by (a - b) * 2^k, neither of which is 0 modulo 37, so every such mistake is caught. (The
hybrid MOD 37,36 does not catch every swap: RCBUC1889 and RCBUC1898 share a check
character.) The price is a 37th check symbol, "*". The check covers the identifier's
letters and digits, hyphens left out: RC-BUC-0007-? covers "RCBUC0007".
"""

import re

CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHECK_SYMBOLS = CHARACTERS + "*"
MODULUS = 37


def _fold(chars: str) -> int:
    p = 0
    for char in chars:
        p = ((p + CHARACTERS.index(char)) * 2) % MODULUS
    return p


def check_character(body: str) -> str:
    """The character that completes `body` (capital letters and digits)."""
    if not body or any(c not in CHARACTERS for c in body):
        raise ValueError(f"only capital letters and digits can be checked: {body!r}")
    return CHECK_SYMBOLS[(MODULUS + 1 - _fold(body)) % MODULUS]


def is_valid_check(chars: str) -> bool:
    """True when the last character is the check character of the ones before it."""
    body, check = chars[:-1], chars[-1:]
    if not body or any(c not in CHARACTERS for c in body) or check not in CHECK_SYMBOLS:
        return False
    return (_fold(body) + CHECK_SYMBOLS.index(check)) % MODULUS == 1


def family_identifier(trial_code: str, site_code: str, sequence: int) -> str:
    """e.g. RC-BUC-0007-K: trial, site, sequence within the site, check character."""
    body = f"{trial_code}{site_code}{sequence:04d}"
    return f"{trial_code}-{site_code}-{sequence:04d}-{check_character(body)}"


def screening_identifier(trial_code: str, site_code: str, sequence: int) -> str:
    """e.g. RC-S-BUC-0012-7: a referral's own identifier, before any consent."""
    body = f"{trial_code}S{site_code}{sequence:04d}"
    return f"{trial_code}-S-{site_code}-{sequence:04d}-{check_character(body)}"


FAMILY_PATTERN = re.compile(r"([A-Z]{2,6})-([A-Z]{3})-(\d{4,})-([0-9A-Z*])")
SCREENING_PATTERN = re.compile(r"([A-Z]{2,6})-S-([A-Z]{3})-(\d{4,})-([0-9A-Z*])")


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

"""Identifying data encrypted at rest, with the `cryptography` package's Fernet
(AES-128-CBC with HMAC-SHA256, authenticated) through MultiFernet.

Keys come from the environment, IDENTITY_KEYS, comma-separated. The first key encrypts;
every key decrypts. To rotate: put a new key first, keep the old ones after it, run
`manage.py identity_rotate_keys` (re-encrypts every identifying value under the first key),
then drop the old keys.
"""

from datetime import date
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"  # marks a stored value as ciphertext, so plaintext is never mistaken for it


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("IDENTITY_KEYS is empty: identifying data cannot be stored.")
    try:
        return MultiFernet([Fernet(k.encode("ascii")) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "IDENTITY_KEYS must be Fernet keys (32 url-safe base64 bytes each), comma-separated."
        ) from exc


def keyring() -> MultiFernet:
    return _keyring(tuple(settings.IDENTITY_KEYS))


def encrypt(plaintext: str) -> str:
    return PREFIX + keyring().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("an identifying value is stored without encryption")
    try:
        return keyring().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An identifying value cannot be decrypted with any key in "
            "IDENTITY_KEYS (was a key removed too soon?)."
        ) from exc


def rotate(stored: str) -> str:
    """The same plaintext under the first key."""
    return PREFIX + keyring().rotate(stored[len(PREFIX) :].encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """Text stored as Fernet ciphertext; empty stays empty. Not searchable or orderable in
    the database, by design."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


class EncryptedDateField(EncryptedTextField):
    """A date stored as encrypted ISO text; read back as a date."""

    def from_db_value(self, value, expression, connection):
        text = super().from_db_value(value, expression, connection)
        return _to_date(text)

    def to_python(self, value):
        return _to_date(value)

    def get_prep_value(self, value):
        if value in (None, ""):
            return value
        return super().get_prep_value(_to_date(value).isoformat())


def _to_date(value):

    if value in (None, "") or isinstance(value, date):
        return value or None
    return date.fromisoformat(str(value))

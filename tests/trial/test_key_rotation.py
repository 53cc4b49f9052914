import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from trial.crypto import _keyring
from trial.models import PersonIdentity

from ..access import family_at


def stored_given_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT given_name FROM trial_personidentity WHERE given_name <> ''")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.requirement("IDN-1")
def test_rotation_moves_every_value_to_the_new_key(world, settings):
    family_at(world, "BUC")
    old = settings.IDENTITY_KEYS[0]
    new = Fernet.generate_key().decode()
    before = stored_given_names()
    settings.IDENTITY_KEYS = [new, old]
    _keyring.cache_clear()
    call_command("identity_rotate_keys", "--as", "manager")
    after = stored_given_names()
    assert after and all(a != b for a, b in zip(after, before, strict=True))
    settings.IDENTITY_KEYS = [new]  # the old key dropped: everything still reads
    _keyring.cache_clear()
    names = sorted(p.given_name for p in PersonIdentity.objects.all())
    history = sorted(h.given_name for h in PersonIdentity.history.all())
    assert "Jade" in names and "Jade" in history
    event = AuditEvent.objects.get(event_type="identity_keys_rotated")
    assert event.changes["rows"][1]["trial.PersonIdentity"] == PersonIdentity.objects.count()
    _keyring.cache_clear()


def test_only_a_trial_manager_rotates_keys(world):
    with pytest.raises(CommandError, match="trial manager"):
        call_command("identity_rotate_keys", "--as", "coord.buc")

"""Service: re-encrypt every identifying value under the first of IDENTITY_KEYS."""

from django.apps import apps
from django.db import transaction

from audit.events import EventType
from audit.ledger import record
from core.channels import Channel
from core.roles import Role
from sites.permissions import require_role

from .crypto import EncryptedTextField


def encrypted_columns() -> list[tuple[type, list[str]]]:
    """Every model (history tables included) with encrypted fields, and those fields."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


@transaction.atomic(durable=True)
def identity_keys_rotate(*, actor, channel: Channel, trial) -> dict[str, int]:
    """Reading decrypts with any key; writing encrypts with the first. Plaintext is
    unchanged, so this is no edit of the records; the rotation itself is recorded."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    counts = {}
    for model, names in encrypted_columns():
        rows = 0
        for pk, *values in model.objects.values_list("pk", *names).iterator(chunk_size=500):
            model.objects.filter(pk=pk).update(**dict(zip(names, values, strict=True)))
            rows += 1
        counts[model._meta.label] = rows
    record(
        event=EventType.IDENTITY_KEYS_ROTATED,
        actor=actor,
        channel=channel,
        changes={"rows": [None, counts]},
        actor_role=held,
    )
    return counts

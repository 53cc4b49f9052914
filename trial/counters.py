from django.db import transaction

from .models import IdentifierCounter


def next_sequence(site, kind: str) -> int:
    """The next number for this site and kind, under a row lock: concurrent enrolments at
    one site wait for each other here and never share or skip a number."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_sequence must run inside the service's transaction")
    IdentifierCounter.objects.bulk_create(
        [IdentifierCounter(site=site, kind=kind, last=0)], ignore_conflicts=True
    )
    counter = IdentifierCounter.objects.select_for_update().get(site=site, kind=kind)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last

"""Eight writers appending at once on PostgreSQL still make one unbroken, gapless chain."""

import itertools

import pytest
from django.db import transaction

from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent
from audit.verification import verify_ledger
from core.channels import Channel

from .test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS, EACH = 8, 60


@pytest.mark.requirement("AUD-2")
def test_eight_concurrent_writers_leave_one_gapless_chain(world):
    before = AuditEvent.objects.count()

    def write(i: int) -> int:
        for n in range(EACH):
            with transaction.atomic():
                record(
                    event=EventType.UPDATE,
                    actor=world.manager,
                    channel=Channel.API,
                    site=world.buc,
                    changes={"writer": [None, i], "n": [None, n]},
                )
        return i

    results = race(WRITERS, write)
    assert results == list(range(WRITERS)), results
    assert AuditEvent.objects.count() == before + WRITERS * EACH
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    result = verify_ledger()
    assert result.intact and result.checked == len(seqs), result.problem
    # The writers really did interleave: the chain was contended, not taken in turns.
    order = [
        c["writer"][1]
        for c in AuditEvent.objects.filter(event_type="update")
        .order_by("seq")
        .values_list("changes", flat=True)
    ]
    switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert switches > WRITERS


def test_a_rolled_back_change_leaves_no_event_and_no_gap(world):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        record(event=EventType.UPDATE, actor=world.manager, channel=Channel.API)
        raise Abort
    with transaction.atomic():
        last = record(event=EventType.UPDATE, actor=world.manager, channel=Channel.API)
    assert last.seq == AuditEvent.objects.count()
    assert verify_ledger().intact

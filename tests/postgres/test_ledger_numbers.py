"""A number in an event's changes is stored and hashed in the form PostgreSQL's jsonb gives
back, so the event verifies as written: a whole number written as a float of 16 digits or
more (1e16) comes back from jsonb in full (10000000000000000) and is kept so; -0.0 comes back
as 0.0 (jsonb has no negative zero) and is kept so."""

import json

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.chain import canonical_bytes
from audit.events import EventType
from audit.ledger import _jsonable, record
from audit.models import AuditEvent
from audit.verification import verify_ledger
from core.channels import Channel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.requirement("AUD-2")]


def test_a_float_jsonb_writes_out_in_full_verifies(world):
    with transaction.atomic():
        event = record(
            event=EventType.UPDATE,
            actor=world.manager,
            channel=Channel.API,
            site=world.buc,
            changes={"score": [1.5e-07, 1e16], "small": [-0.0, -3.0]},
        )
    stored = AuditEvent.objects.get(pk=event.pk).changes
    assert stored == {"score": [1.5e-07, 10**16], "small": [0.0, -3.0]}
    assert isinstance(stored["score"][1], int)
    result = verify_ledger()
    assert result.intact, result.problem


@settings(max_examples=1000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_comes_back_from_jsonb_as_it_was_hashed(value):
    written = _jsonable({"changes": [None, value]})
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [json.dumps(written)])
        (text,) = cursor.fetchone()
    assert canonical_bytes(json.loads(text)) == canonical_bytes(written)

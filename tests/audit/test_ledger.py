import pytest
from django.db import transaction

from audit.chain import GENESIS_HASH, link_hash
from audit.events import EventType
from audit.ledger import diff, record
from audit.models import AuditEvent
from core.channels import Channel


@pytest.mark.requirement("AUD-2")
def test_events_chain_each_to_the_one_before_with_no_gaps(world):
    with transaction.atomic():
        for _ in range(3):
            record(
                event=EventType.UPDATE,
                actor=world.manager,
                channel=Channel.COMMAND,
                site=world.buc,
                changes={"x": [1, 2]},
            )
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    prev = GENESIS_HASH
    for e in events:
        assert e.prev_hash == prev and e.hash == link_hash(prev, e.chained_fields())
        prev = e.hash


@pytest.mark.requirement("AUD-1")
def test_the_ledger_records_the_role_the_service_checked(world):
    with transaction.atomic():
        event = record(
            event=EventType.UPDATE,
            actor=world.coord_buc,
            channel=Channel.WEB,
            site=world.buc,
            actor_role={"site_coordinator"},
        )
    assert (event.actor_role, event.site_code) == ("site_coordinator", "BUC")


def test_a_service_passes_the_role_it_checked(world):
    from sites.lifecycle import site_update

    site_update(site=world.mkn, actor=world.manager, channel=Channel.API, recruitment_target=33)
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.actor_username, event.actor_role) == ("manager", "trial_manager")


@pytest.mark.requirement("AUD-1")
def test_the_ledger_refuses_to_write_outside_a_transaction(world):
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        _outside_transaction(world)


def _outside_transaction(world):
    connection = transaction.get_connection()
    # pytest-django wraps each test in a transaction; step out of it to call as a bare caller.
    saved = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        record(event=EventType.UPDATE, actor=world.manager, channel=Channel.WEB)
    finally:
        connection.in_atomic_block = saved


@pytest.mark.requirement("AUD-1")
def test_diff_lists_only_changed_fields_as_json_values():
    import datetime

    assert diff(
        {"a": 1, "d": datetime.date(2026, 1, 2)}, {"a": 1, "d": datetime.date(2026, 1, 3)}
    ) == {"d": ["2026-01-02", "2026-01-03"]}
    assert diff({}, {"a": None}) == {}

"""A database owner can drop the triggers and rewrite the ledger in SQL. audit_verify
catches each kind of tampering and names the event."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import triggers
from audit.chain import link_hash
from audit.models import AuditEvent
from core.channels import Channel
from sites.lifecycle import site_update

pytestmark = pytest.mark.requirement("AUD-2")

T = "audit_auditevent"


@pytest.fixture
def ledger(world):
    """About twenty real events, from services."""
    for target in range(31, 41):
        site_update(
            site=world.mkn, actor=world.manager, channel=Channel.API, recruitment_target=target
        )
    events = list(AuditEvent.objects.order_by("seq"))
    assert len(events) >= 10
    return events


def verify(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
        return 0, out.getvalue()
    except SystemExit as exit_:
        return exit_.code, err.getvalue()


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_intact_chain_verifies_and_prints_the_count(ledger):
    code, out = verify()
    assert code == 0
    assert f"OK: {len(ledger)} events checked" in out
    assert f"Head: {ledger[-1].seq}:{ledger[-1].hash}" in out


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {T} SET reason = 'covered up'",
        f"DELETE FROM {T} WHERE seq = 3",
    ],
)
def test_the_database_refuses_to_change_the_ledger(ledger, statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(statement)
    assert AuditEvent.objects.count() == len(ledger)


@pytest.mark.postgres
def test_postgres_refuses_truncate(ledger):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(f"TRUNCATE {T}")


def test_a_changed_value_is_named(ledger):
    triggers.remove(connection)
    victim = ledger[6]
    changes = dict(victim.changes, recruitment_target=[victim.changes["recruitment_target"][0], 99])
    sql(f"UPDATE {T} SET changes = %s WHERE seq = %s", [json.dumps(changes), victim.seq])
    code, err = verify()
    assert code == 1
    assert f"BROKEN at event #{victim.seq}: event #{victim.seq} was altered" in err


def test_a_changed_actor_is_named(ledger):
    triggers.remove(connection)
    sql(f"UPDATE {T} SET actor_username = 'someone.else' WHERE seq = %s", [ledger[2].seq])
    code, err = verify()
    assert code == 1 and f"event #{ledger[2].seq} was altered" in err


def test_a_deleted_row_is_named(ledger):
    triggers.remove(connection)
    sql(f"DELETE FROM {T} WHERE seq = %s", [ledger[4].seq])
    code, err = verify()
    assert code == 1
    assert f"event #{ledger[4].seq} missing: removed from the ledger" in err


def test_a_deleted_row_with_the_rest_renumbered_is_caught(ledger):
    triggers.remove(connection)
    gone = ledger[4].seq
    sql(f"DELETE FROM {T} WHERE seq = %s", [gone])
    for seq in range(gone + 1, ledger[-1].seq + 1):
        sql(f"UPDATE {T} SET seq = %s, pos = %s WHERE seq = %s", [seq - 1, seq - 1, seq])
    code, err = verify()
    assert code == 1 and f"BROKEN at event #{gone}: event #{gone} does not follow" in err


def test_rows_removed_from_the_end_are_caught_by_the_head(ledger):
    triggers.remove(connection)
    sql(f"DELETE FROM {T} WHERE seq > %s", [ledger[-3].seq])
    code, err = verify()
    assert code == 1
    assert f"events #{ledger[-2].seq} to #{ledger[-1].seq} missing from the end" in err


def test_a_forged_row_inserted_with_a_correct_looking_hash_is_named(ledger):
    """The forger renumbers the events after #k and inserts a row at #k+1, hashed properly
    onto #k. The next event still points at #k, which names the forgery."""
    triggers.remove(connection)
    k = ledger[5].seq
    for seq in range(ledger[-1].seq, k, -1):
        sql(f"UPDATE {T} SET seq = %s, pos = %s WHERE seq = %s", [seq + 1, seq + 1, seq])
    forged = AuditEvent(
        **{f.attname: getattr(ledger[5], f.attname) for f in AuditEvent._meta.fields}
    )
    forged.seq, forged.reason, forged.prev_hash = k + 1, "forged", ledger[5].hash
    forged.pos = forged.seq
    forged.hash = link_hash(forged.prev_hash, forged.chained_fields())
    sql(
        f"INSERT INTO {T} (seq, at, actor_id, actor_username, actor_role, site_id, site_code, "
        "channel, event_type, object_type, object_id, family, changes, reason, edit_after, "
        "pos, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s, %s, %s)",
        [
            forged.seq,
            forged.at,
            forged.actor_id,
            forged.actor_username,
            forged.actor_role,
            forged.site_id,
            forged.site_code,
            forged.channel,
            forged.event_type,
            forged.object_type,
            forged.object_id,
            forged.family,
            json.dumps(forged.changes),
            forged.reason,
            forged.edit_after,
            forged.pos,
            forged.prev_hash,
            forged.hash,
        ],
    )
    code, err = verify()
    assert code == 1
    assert f"BROKEN at event #{k + 1}: event #{k + 1} was inserted" in err


def test_a_forged_row_appended_at_the_end_is_caught(ledger):
    triggers.remove(connection)
    last = ledger[-1]
    sql(
        f"INSERT INTO {T} (seq, at, actor_id, actor_username, actor_role, site_id, site_code, "
        "channel, event_type, object_type, object_id, family, changes, reason, edit_after, "
        "pos, prev_hash, hash) SELECT seq + 1, at, actor_id, actor_username, actor_role, "
        "site_id, site_code, channel, event_type, object_type, object_id, family, changes, "
        f"'forged', edit_after, pos + 1, hash, %s FROM {T} WHERE seq = %s",
        ["f" * 64, last.seq],
    )
    code, err = verify()
    assert code == 1 and f"event #{last.seq + 1} was altered" in err


def test_two_swapped_rows_are_named(ledger):
    triggers.remove(connection)
    a, b = ledger[3].seq, ledger[7].seq
    sql(f"UPDATE {T} SET seq = -1, pos = -1 WHERE seq = %s", [a])
    sql(f"UPDATE {T} SET seq = %s, pos = %s WHERE seq = %s", [a, a, b])
    sql(f"UPDATE {T} SET seq = %s, pos = %s WHERE seq = -1", [b, b])
    code, err = verify()
    assert code == 1 and f"BROKEN at event #{a}: event #{a} does not follow" in err


def test_a_rewritten_chain_is_caught_by_an_anchor_kept_outside(ledger):
    """Whoever recomputes every hash after an edit defeats the chain alone; the head printed
    by an earlier run, kept outside the database, still catches it."""
    anchor = f"{ledger[-1].seq}:{ledger[-1].hash}"
    triggers.remove(connection)
    prev = ledger[2].prev_hash
    for event in AuditEvent.objects.filter(seq__gte=ledger[2].seq).order_by("seq"):
        if event.seq == ledger[2].seq:
            event.reason = "rewritten"
        event.prev_hash = prev
        event.hash = link_hash(prev, event.chained_fields())
        AuditEvent.objects.filter(seq=event.seq).update(
            reason=event.reason, prev_hash=event.prev_hash, hash=event.hash
        )
        prev = event.hash
    sql("UPDATE audit_chainhead SET last_hash = %s", [prev])
    assert verify()[0] == 0  # the chain alone cannot tell
    code, err = verify("--expect-head", anchor)
    assert code == 1 and f"event #{ledger[-1].seq} does not match its anchor" in err

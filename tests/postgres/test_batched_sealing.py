"""Batched sealing on PostgreSQL, with real commits and real concurrent writers: writers
queue events with no lock, the sealer chains them in batches with no gap and no fork, the
database lets the sealer (and nobody else) set an event's place and hashes once, and
audit_verify catches what the new design could let through (a batch chained on without the
sealer, a checkpoint removed or altered)."""

import io
import itertools
import math

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from audit import triggers
from audit.chain import link_hash
from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent, ChainHead, SealedBatch
from audit.sealing import (
    BATCH,
    batched_from_here,
    seal_batch,
    seal_now,
    seal_waiting,
    sealed,
    waiting_count,
)
from audit.verification import verify_ledger
from core.channels import Channel
from sites.lifecycle import site_update

from .test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.requirement("AUD-2"),
]

T = "audit_auditevent"


@pytest.fixture
def batched(world, monkeypatch):
    """The world (sealed inline, as the suite writes it), then batched sealing from here on,
    every commit nudging the sealer (no pause between one process's nudges)."""
    monkeypatch.setattr("audit.sealing.NUDGE_EVERY", 0)
    batched_from_here()
    with override_settings(LEDGER_SEALING="batched"):
        yield world


def write(world, n: int, target: int = 40) -> None:
    for i in range(n):
        site_update(
            site=world.mkn,
            actor=world.manager,
            channel=Channel.API,
            recruitment_target=target + i % 7 + 1,
        )


def append(world, target: int = 60) -> AuditEvent:
    """One ledger event inside the caller's transaction (site_update is durable: it cannot
    run inside a test's own transaction)."""
    return record(
        event=EventType.UPDATE,
        actor=world.manager,
        channel=Channel.API,
        site=world.mkn,
        changes={"recruitment_target": [None, target]},
    )


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
        return 0, out.getvalue(), err.getvalue()
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()


def assert_one_gapless_chain() -> None:
    places = list(AuditEvent.objects.order_by("pos").values_list("pos", flat=True))
    assert None not in places
    assert places == list(range(1, len(places) + 1))
    result = verify_ledger()
    assert result.intact, result.problem
    assert result.checked == len(places)
    assert ChainHead.objects.get().last_seq == len(places)


def test_eight_writers_at_once_make_one_chain_with_no_gap(batched):
    before = AuditEvent.objects.count()
    results = race(8, lambda i: write(batched, 6, target=40 + 10 * i))
    assert all(r is None for r in results), results
    seal_waiting()
    assert AuditEvent.objects.count() == before + 48
    assert waiting_count() == 0
    assert_one_gapless_chain()
    # Every batch is a checkpoint, and together they tile what the sealer sealed.
    batches = list(SealedBatch.objects.order_by("first_pos"))
    assert batches and batches[-1].last_pos == ChainHead.objects.get().last_seq
    for earlier, later in itertools.pairwise(batches):
        assert later.first_pos == earlier.last_pos + 1


def test_a_committed_event_is_sealed_by_its_commit_without_anyone_asking(batched):
    write(batched, 1)
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.pos is not None and event.hash
    assert event.hash == link_hash(event.prev_hash, event.chained_fields())
    assert waiting_count() == 0


def test_an_event_waits_unsealed_until_its_transaction_commits(batched):
    with transaction.atomic():
        event = append(batched, 77)
        event.refresh_from_db()
        assert event.pos is None and event.hash == "" and event.prev_hash == ""
    event.refresh_from_db()
    assert event.pos is not None and event.hash


def test_the_waiting_insert_is_bound_on_the_server_stores_what_was_given_and_is_logged(
    batched,
):
    """The write path's insert sends its values beside the statement (not quoted into it);
    they come back as given (JSON, time, empty fields), Django's query log (and so every
    query-count test) sees the statement like any other, and the sealer hashes them as
    link_hash does."""
    changes = {"note": "café ☕", "n": [1, 2.5, None], "nested": {"ok": True}}
    with CaptureQueriesContext(connection) as logged, transaction.atomic():
        first = record(
            event=EventType.UPDATE,
            actor=batched.manager,
            channel=Channel.API,
            site=batched.mkn,
            family="RC-MKN-0001-K",
            changes=changes,
            reason="corrected",
            conceal="event",
        )
        second = append(batched, 81)
    inserts = [q["sql"] for q in logged if q["sql"].startswith('INSERT INTO "audit_auditevent"')]
    assert len(inserts) == 2
    assert all("$17" in sql and "café" not in sql for sql in inserts)
    stored = AuditEvent.objects.get(seq=first.seq)
    assert stored.changes == changes and stored.at == first.at
    assert (stored.family, stored.reason, stored.site_code) == ("RC-MKN-0001-K", "corrected", "MKN")
    # Sealed by the batch sealer, each hashed exactly as link_hash hashes its fields (the
    # concealment, hashed only when set, included).
    for event in AuditEvent.objects.filter(seq__in=[first.seq, second.seq]):
        assert event.pos is not None
        assert event.hash == link_hash(event.prev_hash, event.chained_fields())
    assert stored.conceal == "event" and "conceal" in stored.chained_fields()
    assert second.seq > first.seq


def test_a_rolled_back_write_leaves_no_event_and_no_gap_in_the_chain(batched):
    with pytest.raises(RuntimeError), transaction.atomic():
        append(batched, 78)
        raise RuntimeError("the service failed after its event was written")
    write(batched, 2)
    assert_one_gapless_chain()


def test_the_sealer_takes_waiting_events_in_batches_of_its_size(batched, monkeypatch):
    monkeypatch.setattr("audit.sealing.BATCH", 3)
    before = ChainHead.objects.get().last_seq
    with transaction.atomic():  # one commit, so the nudge sees all seven at once
        for i in range(7):
            append(batched, 60 + i)
    assert waiting_count() == 0
    sizes = [
        b.last_pos - b.first_pos + 1
        for b in SealedBatch.objects.filter(first_pos__gt=before).order_by("first_pos")
    ]
    assert sizes == [3, 3, 1]
    assert BATCH >= 1000  # the real size; the test's smaller one only makes several batches
    assert_one_gapless_chain()


def test_a_service_seals_its_own_event_inside_its_transaction(batched):
    with transaction.atomic():
        event = sealed(append(batched, 79))
        assert event.pos == ChainHead.objects.get().last_seq
        assert event.hash == link_hash(event.prev_hash, event.chained_fields())
    assert_one_gapless_chain()


def test_the_database_lets_only_the_sealer_set_a_place_once(batched):
    with transaction.atomic():
        waiting = append(batched, 80)
        # Changing anything else of a waiting event, even while sealing it, is refused.
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            sql(f"UPDATE {T} SET reason = 'covered up' WHERE seq = %s", [waiting.seq])
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            sql(
                f"UPDATE {T} SET pos = 999, prev_hash = 'a', hash = 'b', family = 'X' "
                "WHERE seq = %s",
                [waiting.seq],
            )
        assert seal_now() == 1
    sealed_event = AuditEvent.objects.get(seq=waiting.seq)
    # Once sealed, its place and hashes are fixed like the rest of it.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(f"UPDATE {T} SET pos = pos + 100 WHERE seq = %s", [sealed_event.seq])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(f"DELETE FROM {T} WHERE seq = %s", [sealed_event.seq])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM audit_sealedbatch")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("UPDATE audit_sealedbatch SET last_hash = 'x'")


def test_audit_verify_seals_what_waits_then_checks_it(batched):
    with override_settings(LEDGER_SEALING="inline"):
        write(batched, 2)  # sealed inline: no checkpoint covers them, as before batching
    batched_from_here()
    with transaction.atomic():
        append(batched, 81)
        append(batched, 82)
        connection.run_on_commit.clear()  # the nudge is lost: the writer's process died
    assert waiting_count() == 2
    code, out, err = verify()
    assert code == 0, err
    assert waiting_count() == 0
    assert f"OK: {AuditEvent.objects.count()} events checked" in out


def test_a_batch_chained_on_without_the_sealer_is_caught(batched):
    """The forger appends events with correct hashes and moves the head, as the sealer
    would, but writes no checkpoint."""
    write(batched, 3)
    triggers.remove(connection)
    head = ChainHead.objects.get()
    last = AuditEvent.objects.get(pos=head.last_seq)
    forged = AuditEvent(**{f.attname: getattr(last, f.attname) for f in AuditEvent._meta.fields})
    forged.seq, forged.pos, forged.reason = last.seq + 1000, head.last_seq + 1, "forged"
    forged.prev_hash = head.last_hash
    forged.hash = link_hash(forged.prev_hash, forged.chained_fields())
    forged.save(force_insert=True)
    ChainHead.objects.update(last_seq=forged.pos, last_hash=forged.hash)
    result = verify_ledger()
    assert not result.intact
    assert result.broken_at == forged.pos
    assert "no checkpoint covers them" in result.problem


def test_a_removed_checkpoint_is_caught(batched):
    for i in range(3):
        write(batched, 2, target=50 + 10 * i)  # three commits, at least three batches
    batches = list(SealedBatch.objects.order_by("first_pos"))
    assert len(batches) >= 3
    victim = batches[1]
    triggers.remove(connection)
    SealedBatch.objects.filter(pk=victim.pk).delete()
    result = verify_ledger()
    assert not result.intact
    assert result.broken_at == victim.first_pos
    assert f"no checkpoint covers events #{victim.first_pos} to #{victim.last_pos}" in (
        result.problem
    )


def test_an_altered_checkpoint_is_caught(batched):
    write(batched, 2)
    batch = SealedBatch.objects.order_by("-first_pos").first()
    triggers.remove(connection)
    SealedBatch.objects.filter(pk=batch.pk).update(last_hash="f" * 64)
    result = verify_ledger()
    assert not result.intact and result.broken_at == batch.last_pos
    assert "does not match" in result.problem


def test_an_event_altered_after_sealing_is_named(batched):
    write(batched, 3)
    victim = AuditEvent.objects.order_by("-pos")[1]
    triggers.remove(connection)
    sql(f"UPDATE {T} SET reason = 'covered up' WHERE seq = %s", [victim.seq])
    result = verify_ledger()
    assert not result.intact and result.broken_at == victim.pos
    assert "was altered" in result.problem


def test_the_sealer_process_seals_what_waits(batched):
    with transaction.atomic():
        append(batched, 83)
        connection.run_on_commit.clear()
    out = io.StringIO()
    call_command("ledger_sealer", "--once", stdout=out)
    assert "Events sealed: 1." in out.getvalue()
    assert waiting_count() == 0
    assert_one_gapless_chain()


def test_a_process_nudges_at_most_once_in_its_pause(batched, monkeypatch):
    monkeypatch.setattr("audit.sealing.NUDGE_EVERY", 3600)
    monkeypatch.setattr("audit.sealing._nudged", [-math.inf])  # never nudged yet
    write(batched, 1, target=40)  # nudges, and starts the pause
    write(batched, 1, target=50)  # within the pause: waits for the sealer process or the beat
    assert waiting_count() == 1
    assert seal_waiting() == 1


def test_the_sealer_with_nothing_waiting_writes_no_batch(batched):
    count = SealedBatch.objects.count()
    with transaction.atomic():
        assert seal_batch() == 0
    assert SealedBatch.objects.count() == count

"""Sealing: giving ledger events their place in the chain and their hashes.

Two modes (`LEDGER_SEALING`):

- inline: each append locks the chain head and seals its own event inside the writer's
  transaction. Every write in the installation waits on that one row until it commits.
  SQLite always seals inline (it has one writer at a time anyway).
- batched (PostgreSQL): a writer only inserts its event, with no lock. After the commit,
  the sealer takes every committed event still waiting, in the order they were numbered,
  chains them onto the head in one short transaction and records the run as a
  `SealedBatch` checkpoint. One sealer runs at a time (a PostgreSQL advisory lock), like
  the single sequencer of a Certificate Transparency log; writers never wait for it.

docs/ledger.md gives the choice and the threats each mode covers.
"""

import functools
import math
import time

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone

from .chain import GENESIS_HASH, ROW_FIELDS, row_hash
from .models import (
    AuditEvent,
    ChainHead,
    SealedBatch,
)

INLINE = "inline"
BATCHED = "batched"
MODES = (INLINE, BATCHED)
# How many waiting events one sealing transaction takes at most.
BATCH = 5000
# A process nudges the sealer after a commit at most this often (seconds): often enough
# that a ledger without the sealer process is sealed within the second, rarely enough that
# under load the sealer takes events in batches, not one by one.
NUDGE_EVERY = 0.5
_nudged = [-math.inf]  # never: monotonic time starts near 0 at boot
# The advisory lock that admits one sealer at a time (any fixed number unique to it).
SEALER_LOCK = 0x5EA1ED
# Where a waiting event's number, time and changes are in its row (audit.chain.ROW_FIELDS).
SEQ, AT, CHANGES = (ROW_FIELDS.index(name) for name in ("seq", "at", "changes"))


def sealing_mode() -> str:
    """Batched on PostgreSQL unless settings say inline; inline on any other database."""
    if connection.vendor != "postgresql":
        return INLINE
    return getattr(settings, "LEDGER_SEALING", BATCHED)


def locked_head() -> ChainHead:
    """The chain head, locked until the transaction ends (created on the first append)."""
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # The very first appends may race to create the head: insert-or-ignore, then lock.
        ChainHead.objects.bulk_create(
            [ChainHead(pk=1, last_seq=0, last_hash=GENESIS_HASH)], ignore_conflicts=True
        )
        head = ChainHead.objects.select_for_update().get(pk=1)
    return head


def insert_waiting(entry: AuditEvent) -> AuditEvent:
    """Write an event to wait for the sealer: its number from the sequence (no lock; a
    sequence may skip numbers on rollback, which the chain's places do not), no place and
    no hashes yet. One statement bound on the server, with no model save around it: this
    is the write path of every change in the installation."""
    params = [prep(getattr(entry, name)) for name, prep in _waiting_columns()]
    connection.ensure_connection()
    # A cursor that binds on the server: the values travel beside the statement, not each
    # quoted into its text as Django's own cursors (which bind on the client) would do.
    raw = psycopg.Cursor(connection.connection)
    wrapped = (
        connection.make_debug_cursor(raw)
        if connection.queries_logged
        else connection.make_cursor(raw)
    )
    with wrapped as cursor:
        cursor.execute(_waiting_insert(), params)
        entry.seq = cursor.fetchone()[0]
    entry._state.adding, entry._state.db = False, connection.alias
    return entry


def _as_is(value):
    return value


@functools.cache
def _waiting_columns() -> tuple:
    """Each column the writer sets, with how its value is prepared: a JSON field's value is
    adapted, every other value (text, numbers, an aware time) is bound as it is."""
    return tuple(
        (
            field.attname,
            functools.partial(field.get_db_prep_save, connection=connection)
            if isinstance(field, JSONField)
            else _as_is,
        )
        for field in AuditEvent._meta.concrete_fields
        if field.name not in ("seq", "pos")
    )


@functools.cache
def _waiting_insert() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name, _ in _waiting_columns())
    values = ", ".join(["%s"] * len(_waiting_columns()))
    return (
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({quote('seq')}, {columns}) "  # noqa: S608
        f"VALUES (nextval('audit_event_number'), {values}) RETURNING {quote('seq')}"
    )


def batched_from_here() -> None:
    """For a ledger sealed inline until now and in batches from now on: a checkpoint for
    the events sealed inline since the last one, so that checkpoints go on with no gap, and
    the batched writers' number sequence moved past every number taken. Migration 0020 does
    the same for a ledger that existed before batched sealing."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic():
        head = locked_head()
        last = SealedBatch.objects.order_by("-last_pos").values_list("last_pos", flat=True)
        covered = last.first() or 0
        if head.last_seq > covered:
            SealedBatch.objects.create(
                first_pos=covered + 1,
                last_pos=head.last_seq,
                last_hash=head.last_hash,
                sealed_at=timezone.now(),
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval('audit_event_number', GREATEST((SELECT max(seq) FROM "
                "audit_auditevent), (SELECT last_value FROM audit_event_number)))"
            )


def seal_after_commit() -> None:
    """Nudge the sealer once the writer's transaction commits: at most once per transaction
    (the callbacks waiting for this commit are looked through first, and a rollback drops
    them) and at most once every NUDGE_EVERY seconds per process, so that under load writers
    hand the sealing to one another, or to the sealer process, instead of each doing it."""
    if time.monotonic() - _nudged[0] < NUDGE_EVERY:
        return
    if not any(func is _nudge for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_nudge)


def _nudge() -> None:
    _nudged[0] = time.monotonic()
    seal_waiting(wait=False)


def seal_batch() -> int:
    """Seal up to BATCH waiting events, oldest number first, in the caller's transaction,
    which must hold the sealer lock. Returns how many were sealed."""
    head = locked_head()
    waiting = list(
        AuditEvent.objects.filter(pos__isnull=True).order_by("seq").values_list(*ROW_FIELDS)[:BATCH]
    )
    if not waiting:
        return 0
    pos, prev = head.last_seq, head.last_hash
    first = pos + 1
    sealed: list[tuple[int, int, str, str]] = []
    for row in waiting:
        pos += 1
        # Hashed as the verifier hashes it, with its time as chained_fields writes it.
        digest = row_hash(prev, row, row[AT].isoformat(timespec="microseconds"), row[CHANGES])
        sealed.append((row[SEQ], pos, prev, digest))
        prev = digest
    with connection.cursor() as cursor:
        # One statement for the batch: the four columns as arrays, joined on the number.
        cursor.execute(
            "UPDATE audit_auditevent AS e SET pos = s.pos, prev_hash = s.prev_hash, "
            "hash = s.hash FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) "
            "AS s (seq, pos, prev_hash, hash) WHERE e.seq = s.seq",
            [list(column) for column in zip(*sealed, strict=True)],
        )
    ChainHead.objects.filter(pk=1).update(last_seq=pos, last_hash=prev)
    SealedBatch.objects.create(
        first_pos=first, last_pos=pos, last_hash=prev, sealed_at=timezone.now()
    )
    return len(sealed)


def seal_now() -> int:
    """Seal, inside the caller's transaction, every event it can see waiting: for a service
    that needs its own event's place and hash before it commits (a data lock records them).
    Holds the sealer lock until that transaction ends."""
    if sealing_mode() != BATCHED:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEALER_LOCK])
    total = 0
    while sealed := seal_batch():
        total += sealed
    return total


def seal_waiting(*, wait: bool = True) -> int:
    """Seal every committed event waiting, in transactions of BATCH events. With
    wait=False (a writer's nudge), return at once if another sealer is running, and look
    once more after letting go: an event committed meanwhile by a writer whose nudge found
    the lock taken is sealed then, or by the next nudge, the sealer process or the beat."""
    if sealing_mode() != BATCHED or connection.in_atomic_block:
        return 0
    total = 0
    for _ in range(1 if wait else 2):
        if not _sealer_lock(wait=wait):
            return total
        try:
            while True:
                with transaction.atomic(durable=True):
                    sealed = seal_batch()
                total += sealed
                if sealed < BATCH:
                    break
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SEALER_LOCK])
        if not AuditEvent.objects.filter(pos__isnull=True).exists():
            break
    return total


def waiting_count() -> int:
    return AuditEvent.objects.filter(pos__isnull=True).count()


def _sealer_lock(*, wait: bool) -> bool:
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SEALER_LOCK])
            return True
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SEALER_LOCK])
        return bool(cursor.fetchone()[0])


def sealed_head() -> tuple[int, str]:
    """The chain's head (place and hash) once every event this connection can see waiting
    is sealed: inside a transaction, sealed in it (`seal_now`); outside, by the sealer's
    own transactions. For readers that anchor something to the ledger as it stands."""
    if connection.in_atomic_block:
        seal_now()
    else:
        seal_waiting()
    head = ChainHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()
    return head or (0, GENESIS_HASH)


def sealed(event: AuditEvent) -> AuditEvent:
    """The event with its place and hashes, sealing it now (inside the caller's
    transaction) if it waits to be sealed."""
    if event.pos is None:
        seal_now()
        event.pos, event.prev_hash, event.hash = (
            AuditEvent.objects.filter(seq=event.seq).values_list("pos", "prev_hash", "hash").get()
        )
    return event

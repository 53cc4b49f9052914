"""Recomputes the whole ledger's chain from the database, in the order of the events'
places in the chain (`pos`), and checks the chain head, the sealer's checkpoints and any
anchor given from outside. Events waiting to be sealed are not in the chain yet: they are
counted (audit_verify prints them), not checked.

Every event's hash depends only on its own fields and the stored hash before it, so on
PostgreSQL the ledger is cut into ranges checked at once by separate processes, each
streaming its rows through a server-side cursor (parallel_verify.py); the earliest break
found is the one a single walk would have found first (in this process alone where it may
not start others). On SQLite, or inside a transaction (whose uncommitted rows no other
connection can see), one walk through the ORM in keyset chunks on the caller's connection.
Memory stays constant at any size.
"""

import math
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

from django.db import connections

from .chain import (
    GENESIS_HASH,
    ROW_FIELDS,
    Verification,
    verify_rows,
)
from .models import AuditEvent, ChainHead, SealedBatch
from .parallel_verify import Ledger, spans, verify_span
from .sealing import BATCHED, sealing_mode

CHUNK = 5000
# Events per process below which starting another process costs more than it saves.
MIN_SPAN = 100_000
# An event's time as chained_fields writes it (datetime.isoformat in UTC, microseconds).
ISO_AT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def verify_ledger(
    *,
    expect_head: tuple[int, str] | None = None,
    expect_heads: Iterable[tuple[int, str]] = (),
    using: str = "default",
    workers: int | None = None,
) -> Verification:
    """The chain, then the head row (which catches events removed from the end), then the
    sealer's checkpoints (which catch a batch chained on without the sealer, or a
    checkpoint removed or altered), then the anchors kept outside the database, if any are
    given (`expect_head`, and the heads published earlier in `expect_heads`), against the
    database of connection `using`.
    `workers`: processes on PostgreSQL (by default one per CPU, fewer for a small ledger)."""
    last, head = _extent(using)
    result = _verify_chain(last, using=using, workers=workers)
    if not result.intact:
        return result
    head_seq, head_hash = head or (0, result.last_hash)
    if head_seq > result.last_seq:
        return _fail(
            result,
            result.last_seq + 1,
            f"events #{result.last_seq + 1} to #{head_seq} missing from the end: removed",
        )
    if (head_seq, head_hash) != (result.last_seq, result.last_hash):
        return _fail(
            result,
            result.last_seq,
            f"event #{result.last_seq} is not the recorded head of the chain "
            f"(#{head_seq}): events were appended or altered outside the ledger",
        )
    broken = _batches_broken(result, using=using)
    if broken is not None:
        return broken
    anchors = sorted({*expect_heads, *([expect_head] if expect_head else [])})
    stored = _hashes(sorted({seq for seq, _ in anchors}), using=using)
    # The earliest mismatch is where the rewrite starts: every later anchor breaks with it.
    for seq, digest in anchors:
        found = stored.get(seq)
        if found is None:
            return _fail(result, seq, f"event #{seq}, anchored outside the database, is missing")
        if found != digest:
            return _fail(
                result,
                seq,
                f"event #{seq} does not match its anchor kept outside "
                "the database: the chain was rewritten from there on",
            )
    return result


def processes_for(last: int, *, using: str = "default", workers: int | None = None) -> int:
    """How many processes verify a ledger ending at event #last: one where others could not
    see what this connection sees or may not be started."""
    conn = connections[using]
    if (
        conn.vendor != "postgresql"
        or conn.in_atomic_block
        or multiprocessing.current_process().daemon  # a Celery prefork child, for one
    ):
        return 1
    if workers is None:
        workers = min(os.cpu_count() or 1, math.ceil(last / MIN_SPAN))
    return max(1, min(workers, last))


def _extent(using: str) -> tuple[int, tuple[int, str] | None]:
    """The last sealed place and the chain head, read in one statement: one snapshot, so an
    event sealed meanwhile cannot look like one removed from the end."""
    events, heads = AuditEvent._meta.db_table, ChainHead._meta.db_table
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT max(pos) FROM {events}), h.last_seq, h.last_hash "  # noqa: S608
            f"FROM (SELECT 1) AS one LEFT JOIN {heads} AS h ON h.id = 1"
        )
        last, head_seq, head_hash = cursor.fetchone()
    return max(last or 0, 0), (None if head_seq is None else (head_seq, head_hash))


def _verify_chain(last: int, *, using: str, workers: int | None) -> Verification:
    if last == 0:
        return Verification(checked=0, last_seq=0, last_hash=GENESIS_HASH)
    conn = connections[using]
    if conn.vendor != "postgresql" or conn.in_atomic_block:
        # Event #last is stored, so the walk ends there or at a break before it.
        return verify_rows(
            _stored_rows(last, using=using),
            at=lambda at: at.isoformat(timespec="microseconds"),
            changes=lambda changes: changes,  # already decoded by the JSONField
        )
    processes = processes_for(last, using=using, workers=workers)
    if processes == 1:
        return verify_span(_ledger(using), 1, last)
    ranges = spans(last, processes)
    context = multiprocessing.get_context("spawn")  # nothing inherited: a clean connection
    with ProcessPoolExecutor(max_workers=len(ranges), mp_context=context) as pool:
        results = list(pool.map(verify_span, repeat(_ledger(using)), *zip(*ranges, strict=True)))
    # Each range is right if every range before it is intact and complete: the first that is
    # not holds the finding (a break, or the end of the stored events).
    for (_, end), result in zip(ranges, results, strict=True):
        if not result.intact or result.last_seq < end:
            return result
    return results[-1]


def _stored_rows(last: int, *, using: str) -> Iterator[tuple]:
    after = 0
    while True:
        rows = list(
            AuditEvent.objects.using(using)
            .filter(pos__gt=after, pos__lte=last)
            .order_by("pos")
            .values_list(*ROW_FIELDS)[:CHUNK]
        )
        yield from rows
        if len(rows) < CHUNK:
            return
        after = rows[-1][0]


def _ledger(using: str) -> Ledger:
    """What a process needs to open its own connection and read the ledger's rows."""
    conn = connections[using]
    params = {
        key: value
        for key, value in conn.get_connection_params().items()
        if isinstance(value, str | int)  # not the cursor class or Django's adapters
    }
    quote = conn.ops.quote_name
    columns = [quote(AuditEvent._meta.get_field(name).column) for name in ROW_FIELDS]
    columns[ROW_FIELDS.index("at")] = ISO_AT.format(columns[ROW_FIELDS.index("at")])
    return Ledger(params=params, table=quote(AuditEvent._meta.db_table), columns=", ".join(columns))


def _batches_broken(result: Verification, *, using: str) -> Verification | None:
    """Checkpoints follow each other with no gap or overlap, each ends on the hash of the
    event at its last place, and, sealing in batches, the last ends at the head: events
    chained on past it were not sealed by the sealer."""
    expected, last = None, None
    batches = SealedBatch.objects.using(using).order_by("first_pos")
    after = 0
    while chunk := list(
        batches.filter(first_pos__gt=after).values_list("first_pos", "last_pos", "last_hash")[
            :CHUNK
        ]
    ):
        stored = _hashes([last_pos for _, last_pos, _ in chunk], using=using)
        for first_pos, last_pos, last_hash in chunk:
            if expected is not None and first_pos != expected:
                return _fail(
                    result,
                    min(first_pos, expected),
                    f"no checkpoint covers events #{expected} to #{first_pos - 1}: a sealed "
                    "batch's record was removed"
                    if first_pos > expected
                    else f"checkpoints overlap at event #{first_pos}: a batch was forged",
                )
            if stored.get(last_pos) != last_hash:
                return _fail(
                    result,
                    last_pos,
                    f"the checkpoint of events #{first_pos} to #{last_pos} does not match "
                    f"event #{last_pos}: the batch was forged or the chain rewritten",
                )
            expected, last = last_pos + 1, last_pos
        after = chunk[-1][0]
    if sealing_mode() == BATCHED and last is not None and last < result.last_seq:
        return _fail(
            result,
            last + 1,
            f"events #{last + 1} to #{result.last_seq} are chained but no checkpoint covers "
            "them: they were not sealed by the sealer (a forged batch)",
        )
    return None


def _hashes(seqs: list[int], *, using: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(seqs), 1000):
        found.update(
            AuditEvent.objects.using(using)
            .filter(pos__in=seqs[start : start + 1000])
            .values_list("pos", "hash")
        )
    return found


def _fail(result: Verification, at: int, problem: str) -> Verification:
    return Verification(
        checked=result.checked,
        last_seq=result.last_seq,
        last_hash=result.last_hash,
        broken_at=at,
        problem=problem,
    )

"""Recomputes the whole ledger's chain from the database, in keyset chunks (constant
memory at any size), in the order of the events' places in the chain (`pos`), and checks
the chain head, the sealer's checkpoints and any anchor given from outside. Events still
waiting to be sealed are not in the chain yet: they are counted, not checked."""

from collections.abc import Iterable, Iterator

from .chain import Link, Verification, verify_chain
from .models import (
    CHAINED_FIELDS,
    CHAINED_WHEN_SET,
    AuditEvent,
    ChainHead,
    SealedBatch,
    chained_fields,
)
from .sealing import BATCHED, sealing_mode

CHUNK = 5000


def stored_links(chunk: int = CHUNK, using: str = "default") -> Iterator[Link]:
    """The sealed events as links, by their place in the chain (a link's `seq`)."""
    hashed = (*CHAINED_FIELDS, *CHAINED_WHEN_SET)
    columns = ("pos", *hashed, "prev_hash", "hash")
    after = 0
    while True:
        rows = list(
            AuditEvent.objects.using(using)
            .filter(pos__gt=after)
            .order_by("pos")
            .values_list(*columns)[:chunk]
        )
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            yield Link(
                seq=values["pos"],
                fields=chained_fields({name: values[name] for name in hashed}),
                prev_hash=values["prev_hash"],
                hash=values["hash"],
            )
        if len(rows) < chunk:
            return
        after = rows[-1][0]


def verify_ledger(
    *,
    expect_head: tuple[int, str] | None = None,
    expect_heads: Iterable[tuple[int, str]] = (),
    using: str = "default",
) -> Verification:
    """The chain, then the head row (which catches events removed from the end), then the
    sealer's checkpoints (which catch a batch chained on without the sealer, or a
    checkpoint removed), then the anchors kept outside the database, if any are given
    (`expect_head`, and the heads published earlier in `expect_heads`), against the
    database of connection `using`."""
    result = verify_chain(stored_links(using=using))
    if not result.intact:
        return result
    head = ChainHead.objects.using(using).filter(pk=1).first()
    head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, result.last_hash)
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


def _batches_broken(result: Verification, *, using: str) -> Verification | None:
    """Checkpoints follow each other with no gap or overlap, each ends on the hash of the
    event at its last place, and, sealing in batches, the last ends at the head: events
    chained on past it were not sealed by the sealer."""
    expected, last = None, None
    batches = SealedBatch.objects.using(using).order_by("first_pos")
    for start in range(0, batches.count(), 5000):
        chunk = list(
            batches.values_list("first_pos", "last_pos", "last_hash")[start : start + 5000]
        )
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

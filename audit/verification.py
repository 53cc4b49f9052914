"""Recomputes the whole ledger's chain from the database, in keyset chunks (constant
memory at any size), and checks the chain head and any anchor given from outside."""

from collections.abc import Iterable, Iterator

from .chain import Link, Verification, verify_chain
from .models import CHAINED_FIELDS, CHAINED_WHEN_SET, AuditEvent, ChainHead, chained_fields

CHUNK = 5000


def stored_links(chunk: int = CHUNK, using: str = "default") -> Iterator[Link]:
    hashed = (*CHAINED_FIELDS, *CHAINED_WHEN_SET)
    columns = (*hashed, "prev_hash", "hash")
    after = 0
    while True:
        rows = list(
            AuditEvent.objects.using(using)
            .filter(seq__gt=after)
            .order_by("seq")
            .values_list(*columns)[:chunk]
        )
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            yield Link(
                seq=values["seq"],
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
    anchors kept outside the database, if any are given (`expect_head`, and the heads
    published earlier in `expect_heads`), against the database of connection `using`."""
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


def _hashes(seqs: list[int], *, using: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(seqs), 1000):
        found.update(
            AuditEvent.objects.using(using)
            .filter(seq__in=seqs[start : start + 1000])
            .values_list("seq", "hash")
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

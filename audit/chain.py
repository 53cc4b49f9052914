"""Hash chaining of ledger events. Pure Python: no Django import.

Each event's hash is SHA-256 over the previous event's hash and the event's
canonical form, so changing, removing, inserting or reordering any event breaks
every hash after it.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """One byte string per event: sorted keys, no spaces, UTF-8, so any reader
    that sees the same values computes the same bytes."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def link_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_bytes(fields))
    return digest.hexdigest()


@dataclass(frozen=True)
class Link:
    """One stored event as the verifier sees it."""

    seq: int
    fields: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    checked: int
    last_seq: int
    last_hash: str
    broken_at: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(links: Iterable[Link]) -> Verification:
    """Walk the chain from the first event; stop at the first broken link and say which
    event it is and how it broke (altered, removed, inserted or moved)."""
    expected, prev, prev_prev, checked = 1, GENESIS_HASH, None, 0
    for link in links:
        if link.seq != expected:
            missing = (
                f"#{expected}" if link.seq == expected + 1 else f"#{expected} to #{link.seq - 1}"
            )
            return _broken(
                checked,
                expected - 1,
                prev,
                expected,
                f"event {missing} missing: removed from the ledger",
            )
        if link.prev_hash != prev:
            if prev_prev is not None and link.prev_hash == prev_prev:
                return _broken(
                    checked,
                    expected - 1,
                    prev,
                    expected - 1,
                    f"event #{expected - 1} was inserted: event #{expected} is "
                    f"chained directly to #{expected - 2}",
                )
            return _broken(
                checked,
                expected - 1,
                prev,
                expected,
                f"event #{expected} does not follow #{expected - 1}: events were "
                "removed, inserted or reordered here",
            )
        if link_hash(link.prev_hash, link.fields) != link.hash:
            return _broken(
                checked,
                expected - 1,
                prev,
                expected,
                f"event #{expected} was altered: its content no longer matches its hash",
            )
        prev_prev, prev = prev, link.hash
        expected += 1
        checked += 1
    return Verification(checked=checked, last_seq=expected - 1, last_hash=prev)


def _broken(checked: int, last_seq: int, last_hash: str, at: int, problem: str) -> Verification:
    return Verification(
        checked=checked, last_seq=last_seq, last_hash=last_hash, broken_at=at, problem=problem
    )

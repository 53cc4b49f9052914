"""Hash chaining of ledger events. Pure Python: no Django import.

Each event's hash is SHA-256 over the previous event's hash and the event's
canonical form, so changing, removing, inserting or reordering any event breaks
every hash after it.
"""

import hashlib
import json
from collections.abc import Mapping
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

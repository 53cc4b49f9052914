"""Hash chaining of ledger events. Pure Python: no Django import.

Each event's hash is SHA-256 over the previous event's hash and the event's
canonical form, so changing, removing, inserting or reordering any event breaks
every hash after it. Each hash depends only on its own event and the stored hash
before it, so any range of the chain can be checked on its own.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring
from typing import Any

GENESIS_HASH = "0" * 64

# A stored event's columns in the order `verify_rows` reads them: its place in the chain,
# the hashed fields (`conceal` hashed only when set), then the two hashes.
ROW_FIELDS = (
    "pos",
    "seq",
    "at",
    "actor_id",
    "actor_username",
    "actor_role",
    "site_id",
    "site_code",
    "channel",
    "event_type",
    "object_type",
    "object_id",
    "family",
    "changes",
    "reason",
    "edit_after",
    "conceal",
    "prev_hash",
    "hash",
)
HASHED_WHEN_SET = ("conceal",)

_SEPARATORS = (",", ":")


def _compact_encoder() -> Callable[[Any], str]:
    """json.dumps with canonical_bytes's options, for one value at a time. The C encoder
    that json.dumps itself runs is made once here rather than on every call (about 2.5
    times faster for a small mapping); without the C module, the public encoder."""
    encoder = json.JSONEncoder(
        sort_keys=True, separators=_SEPARATORS, ensure_ascii=False, default=str
    )
    if c_make_encoder is None:
        return encoder.encode
    chunks = c_make_encoder(
        None, encoder.default, encode_basestring, None, ":", ",", True, False, True
    )
    return lambda value: "".join(chunks(value, 0))


def _json_loader() -> Callable[[str], Any]:
    """json.loads for a document with nothing around it (as PostgreSQL writes jsonb), three
    times faster by calling the scanner json.loads ends in; anything else takes json.loads,
    which then decodes it or raises as usual."""
    scan = json.JSONDecoder().scan_once

    def load(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except (StopIteration, ValueError):
            return json.loads(text)
        return value if end == len(text) else json.loads(text)

    return load


_json = _compact_encoder()
json_value = _json_loader()


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """One byte string per event: sorted keys, no spaces, UTF-8, so any reader
    that sees the same values computes the same bytes."""
    return json.dumps(
        fields, sort_keys=True, separators=_SEPARATORS, ensure_ascii=False, default=str
    ).encode("utf-8")


def link_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_bytes(fields))
    return digest.hexdigest()


# canonical_bytes of one event, written out: its keys in sorted order, each value
# encoded as json.dumps encodes it. `conceal` goes in the %s after "channel".
_EVENT = (
    '{"actor_id":%s,"actor_role":%s,"actor_username":%s,"at":%s,"changes":%s,"channel":%s,'
    '%s"edit_after":%s,"event_type":%s,"family":%s,"object_id":%s,"object_type":%s,'
    '"reason":%s,"seq":%s,"site_code":%s,"site_id":%s}'
)


def event_text(row: tuple, at: str, changes: Any) -> str:
    """The canonical form of a stored event (`row`: ROW_FIELDS, as the database
    returns it: int or None for the numbers, str for the text), with its time already in
    ISO 8601 and its changes decoded: `canonical_bytes` without a JSON round trip of the
    whole event. Values of other types take the general encoder."""
    (
        _,
        seq,
        _,
        actor_id,
        username,
        role,
        site_id,
        site_code,
        channel,
        event_type,
        object_type,
        object_id,
        family,
        _,
        reason,
        edit_after,
        conceal,
        _,
        _,
    ) = row
    q = encode_basestring
    try:
        return _EVENT % (
            "null" if actor_id is None else int.__repr__(actor_id),
            q(role),
            q(username),
            q(at),
            _json(changes),
            q(channel),
            f'"conceal":{q(conceal)},' if conceal else "",
            q(edit_after),
            q(event_type),
            q(family),
            q(object_id),
            q(object_type),
            q(reason),
            int.__repr__(seq),
            q(site_code),
            "null" if site_id is None else int.__repr__(site_id),
        )
    except TypeError:
        fields = dict(zip(ROW_FIELDS[1:-2], row[1:], strict=False))
        fields.update(at=at, changes=changes)
        for name in HASHED_WHEN_SET:
            if not fields[name]:
                del fields[name]
        return canonical_bytes(fields).decode("utf-8")


@dataclass(frozen=True)
class Link:
    """One stored event as the verifier sees it (`seq`: its place in the chain, `pos`)."""

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


@dataclass(frozen=True)
class Start:
    """Where a check of the chain begins: the first event's place in the chain, the stored
    hash of the event before it and of the one before that (None before event #2)."""

    seq: int = 1
    prev: str = GENESIS_HASH
    prev_prev: str | None = None


def verify_chain(links: Iterable[Link], start: Start = Start()) -> Verification:
    """Walk the chain from `start`; stop at the first broken link and say which event it
    is and how it broke (altered, removed, inserted or moved)."""
    expected, prev, prev_prev = start.seq, start.prev, start.prev_prev
    for link in links:
        if link.seq != expected or link.prev_hash != prev:
            return _misplaced(expected, prev, prev_prev, link.seq, link.prev_hash)
        if link_hash(link.prev_hash, link.fields) != link.hash:
            return _altered(expected, prev)
        prev_prev, prev = prev, link.hash
        expected += 1
    return Verification(checked=expected - 1, last_seq=expected - 1, last_hash=prev)


def row_hash(prev_hash: str, row: tuple, at: str, changes: Any) -> str:
    """The hash that seals a stored event (`row`: ROW_FIELDS) after `prev_hash`: `link_hash`
    over `event_text`, for the sealer and the verifier alike. `prev_hash` is a hash already
    made here, hence ASCII: one UTF-8 encoding gives the same bytes as link_hash's two."""
    return hashlib.sha256((prev_hash + event_text(row, at, changes)).encode("utf-8")).hexdigest()


def verify_rows(
    rows: Iterable[tuple],
    *,
    start: Start = Start(),
    at: Callable[[Any], str],
    changes: Callable[[Any], Any],
) -> Verification:
    """`verify_chain` over stored rows (ROW_FIELDS order), with the same findings, built for
    speed: no mapping per event and no JSON encoding of the whole event. `at` gives a row's
    time in ISO 8601 as `chained_fields` writes it; `changes` its changes decoded."""
    expected, prev, prev_prev = start.seq, start.prev, start.prev_prev
    seal = row_hash
    for row in rows:
        pos, prev_hash, stored = row[0], row[17], row[18]
        if pos != expected or prev_hash != prev:
            return _misplaced(expected, prev, prev_prev, pos, prev_hash)
        if seal(prev_hash, row, at(row[2]), changes(row[13])) != stored:
            return _altered(expected, prev)
        prev_prev, prev = prev, stored
        expected += 1
    return Verification(checked=expected - 1, last_seq=expected - 1, last_hash=prev)


def gap_after(result: Verification, next_seq: int) -> Verification:
    """The finding when a range ended intact at `result.last_seq` but the next stored event
    is `next_seq`, beyond it (as a walk of the whole chain would have found it)."""
    expected = result.last_seq + 1
    return _misplaced(expected, result.last_hash, None, next_seq, None)


def _misplaced(
    expected: int, prev: str, prev_prev: str | None, seq: int, prev_hash: str | None
) -> Verification:
    if seq != expected:
        missing = f"#{expected}" if seq == expected + 1 else f"#{expected} to #{seq - 1}"
        return _broken(
            expected, prev, expected, f"event {missing} missing: removed from the ledger"
        )
    if prev_prev is not None and prev_hash == prev_prev:
        return _broken(
            expected,
            prev,
            expected - 1,
            f"event #{expected - 1} was inserted: event #{expected} is "
            f"chained directly to #{expected - 2}",
        )
    return _broken(
        expected,
        prev,
        expected,
        f"event #{expected} does not follow #{expected - 1}: events were "
        "removed, inserted or reordered here",
    )


def _altered(expected: int, prev: str) -> Verification:
    return _broken(
        expected,
        prev,
        expected,
        f"event #{expected} was altered: its content no longer matches its hash",
    )


def _broken(expected: int, last_hash: str, at: int, problem: str) -> Verification:
    # Every event before `expected` was verified: the count is its predecessor's number.
    return Verification(
        checked=expected - 1,
        last_seq=expected - 1,
        last_hash=last_hash,
        broken_at=at,
        problem=problem,
    )

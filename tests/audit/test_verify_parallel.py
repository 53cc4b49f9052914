"""The fast verifier: its canonical bytes are those the chain was hashed with, and on
PostgreSQL the ledger checked in ranges by separate processes gives the same finding, word
for word, as one walk of the whole chain, wherever the break is."""

import io
import json
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audit.chain import (
    ROW_FIELDS,
    Link,
    Verification,
    canonical_bytes,
    event_text,
    json_value,
    link_hash,
    row_hash,
    verify_chain,
)
from audit.models import AuditEvent, ChainHead, chained_fields
from audit.parallel_verify import spans
from audit.verification import ISO_AT, processes_for, verify_ledger
from core.channels import Channel
from sites.lifecycle import site_update

T = "audit_auditevent"
COLUMNS = ", ".join(ROW_FIELDS)
WORKERS = 3

# Text as the database stores it: any character but a lone surrogate (not valid UTF-8).
text = st.text(st.characters(exclude_categories=("Cs",)))
tricky = st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\n\t", "é", "\u2028", "𝄞", "😀"])
strings = st.one_of(text, st.lists(st.one_of(tricky, text)).map("".join))
numbers = st.one_of(
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False)
)
changes = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, strings),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(strings, inner)),
    max_leaves=12,
)
ids = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))
moments = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@st.composite
def stored_events(draw) -> dict:
    values = {name: draw(strings) for name in ROW_FIELDS}
    values.update(
        pos=draw(st.integers(min_value=1, max_value=2**63 - 1)),
        seq=draw(st.integers(min_value=1, max_value=2**63 - 1)),
        at=draw(moments),
        actor_id=draw(ids),
        site_id=draw(ids),
        changes=draw(changes),
        conceal=draw(st.one_of(st.just(""), strings)),
    )
    return values


def row_of(values: dict) -> tuple:
    return tuple(values[name] for name in ROW_FIELDS)


@given(stored_events())
@example(
    {
        **dict.fromkeys(ROW_FIELDS, ""),
        "pos": 7,
        "seq": 7,
        "at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        "actor_id": None,
        "site_id": 3,
        "reason": 'a "quoted" \\ back\x01slash 😀\u2028',
        "changes": {"b": [1.5, None, True, 10**30], "a": {"z": "é", "y": 1e16}},
        "conceal": "arm",
    }
)
def test_the_fast_canonical_form_is_byte_for_byte_the_one_hashed(values):
    hashed = {name: values[name] for name in ROW_FIELDS[1:-2]}
    at = values["at"].isoformat(timespec="microseconds")
    fast = event_text(row_of(values), at, values["changes"])
    assert fast.encode("utf-8") == canonical_bytes(chained_fields(hashed))
    # The sealer's and the verifier's one hash is link_hash's, after any stored hash.
    prev = link_hash("0" * 64, {"seq": values["seq"]})
    sealed = row_hash(prev, row_of(values), at, values["changes"])
    assert sealed == link_hash(prev, chained_fields(hashed))


@pytest.mark.parametrize("odd", [{"actor_id": "7"}, {"site_id": 2.5}, {"reason": None}])
def test_values_of_other_types_take_the_general_encoder(odd):
    values = {
        **dict.fromkeys(ROW_FIELDS, "x"),
        "pos": 1,
        "seq": 1,
        "at": datetime(2026, 1, 5, tzinfo=UTC),
        "actor_id": 1,
        "site_id": 1,
        "changes": {},
        **odd,
    }
    hashed = {name: values[name] for name in ROW_FIELDS[1:-2]}
    at = values["at"].isoformat(timespec="microseconds")
    fast = event_text(row_of(values), at, values["changes"])
    assert fast.encode("utf-8") == canonical_bytes(chained_fields(hashed))


@given(changes)
def test_json_values_decode_as_json_loads_decodes_them(value):
    for written in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert json_value(written) == json.loads(written)


def test_json_values_with_anything_around_them_fare_as_with_json_loads():
    assert json_value(' {"a": 1}\n') == {"a": 1}
    for bad in ('{"a": 1} x', "", "\ufeff{}", "[1,"):
        with pytest.raises(json.JSONDecodeError):
            json_value(bad)


def test_ranges_cover_the_ledger_in_order_without_overlap():
    for last in (1, 2, 7, 100, 1_000_003):
        for parts in (1, 2, 3, 8):
            cut = spans(last, parts)
            assert cut[0][0] == 1 and cut[-1][1] == last
            assert all(a[1] + 1 == b[0] for a, b in pairwise(cut))
            assert all(first <= end for first, end in cut)


def test_a_small_ledger_or_a_sqlite_one_is_verified_in_one_process(db):
    assert processes_for(10) == 1
    if connection.vendor == "sqlite":
        assert processes_for(10**7, workers=4) == 1


# PostgreSQL: the ranges are read through other connections, so these tests commit their data.


@pytest.mark.postgres
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # it only reads
@given(moments)
def test_postgres_writes_an_events_time_as_chained_fields_does(db, value):
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ISO_AT.format("%s::timestamptz"), [value])
        assert cursor.fetchone()[0] == value.isoformat(timespec="microseconds")


@pytest.mark.postgres
def test_inside_a_transaction_the_check_stays_in_this_connection(db):
    """Other connections would not see what this transaction wrote (or a test's data)."""
    assert connection.in_atomic_block
    assert processes_for(10**7, workers=4) == 1


@pytest.fixture
def ledger(world):
    """About twenty real events from services, committed."""
    for target in range(31, 41):
        site_update(
            site=world.mkn, actor=world.manager, channel=Channel.API, recruitment_target=target
        )
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 3 * WORKERS
    return seqs[-1]


@contextmanager
def tampering():
    """This session only ignores the ledger's triggers (as its owner could), not the others."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def renumber(first: int, last: int, by: int) -> None:
    for seq in range(last, first - 1, -1) if by > 0 else range(first, last + 1):
        sql(f"UPDATE {T} SET seq = %s, pos = %s WHERE seq = %s", [seq + by, seq + by, seq])


def starts(last: int) -> list[int]:
    """The first event of each range after the first, for a ledger ending at `last`."""
    return [first for first, _ in spans(last, WORKERS)[1:]]


def alter(seq: int) -> None:
    sql(f"UPDATE {T} SET reason = 'covered up' WHERE seq = %s", [seq])


def insert_forged_after(k: int, last: int) -> None:
    """Renumber the events after #k and insert one hashed properly onto #k."""
    renumber(k + 1, last, +1)
    sql(
        f"INSERT INTO {T} ({COLUMNS}) SELECT pos + 1, seq + 1, at, actor_id, actor_username, "
        "actor_role, site_id, site_code, channel, event_type, object_type, object_id, family, "
        f"changes, 'forged', edit_after, conceal, hash, repeat('e', 64) FROM {T} WHERE seq = %s",
        [k],
    )
    forged = AuditEvent.objects.get(seq=k + 1)
    sql(
        f"UPDATE {T} SET hash = %s WHERE seq = %s",
        [link_hash(forged.prev_hash, forged.chained_fields()), k + 1],
    )


def swap(a: int, b: int) -> None:
    sql(f"UPDATE {T} SET seq = -1, pos = -1 WHERE seq = %s", [a])
    sql(f"UPDATE {T} SET seq = %s, pos = %s WHERE seq = %s", [a, a, b])
    sql(f"UPDATE {T} SET seq = %s, pos = %s WHERE seq = -1", [b, b])


def s1(n):  # the first event of the second range
    return starts(n)[0]


# Each case: how to tamper with a ledger ending at #n, and the finding, (event, words).
CASES = {
    "altered, first of a range": (
        lambda n: alter(s1(n)),
        lambda n: (s1(n), f"event #{s1(n)} was altered"),
    ),
    "altered, last of a range": (
        lambda n: alter(s1(n) - 1),
        lambda n: (s1(n) - 1, f"event #{s1(n) - 1} was altered"),
    ),
    "altered, in the last range": (
        lambda n: alter(n - 1),
        lambda n: (n - 1, f"event #{n - 1} was altered"),
    ),
    "removed, first of a range": (
        lambda n: sql(f"DELETE FROM {T} WHERE seq = %s", [s1(n)]),
        lambda n: (s1(n), f"event #{s1(n)} missing: removed from the ledger"),
    ),
    "removed, last of a range": (
        lambda n: sql(f"DELETE FROM {T} WHERE seq = %s", [s1(n) - 1]),
        lambda n: (s1(n) - 1, f"event #{s1(n) - 1} missing: removed from the ledger"),
    ),
    "removed, across a boundary": (
        lambda n: sql(f"DELETE FROM {T} WHERE seq BETWEEN %s AND %s", [s1(n) - 1, s1(n) + 1]),
        lambda n: (s1(n) - 1, f"event #{s1(n) - 1} to #{s1(n) + 1} missing: removed"),
    ),
    "removed, the rest renumbered": (
        # After it the ledger ends at n - 1: the gap is at that ledger's second range.
        lambda n: (
            sql(f"DELETE FROM {T} WHERE seq = %s", [s1(n - 1)]),
            renumber(s1(n - 1) + 1, n, -1),
        ),
        lambda n: (s1(n - 1), f"event #{s1(n - 1)} does not follow #{s1(n - 1) - 1}"),
    ),
    "inserted, just before a range": (
        # After it the ledger ends at n + 1, and the event after the forgery starts a range.
        lambda n: insert_forged_after(s1(n + 1) - 2, n),
        lambda n: (s1(n + 1) - 1, f"event #{s1(n + 1) - 1} was inserted: event #{s1(n + 1)}"),
    ),
    "swapped across a boundary": (
        lambda n: swap(s1(n) - 1, s1(n) + 1),
        lambda n: (s1(n) - 1, f"event #{s1(n) - 1} does not follow #{s1(n) - 2}"),
    ),
    "appended at the end": (
        lambda n: sql(
            f"INSERT INTO {T} ({COLUMNS}) SELECT pos + 1, seq + 1, at, actor_id, "
            "actor_username, actor_role, site_id, site_code, channel, event_type, object_type, "
            "object_id, family, changes, 'forged', edit_after, conceal, hash, %s FROM "
            f"{T} WHERE seq = %s",
            ["f" * 64, n],
        ),
        lambda n: (n + 1, f"event #{n + 1} was altered"),
    ),
    "removed from the end": (
        lambda n: sql(f"DELETE FROM {T} WHERE seq > %s", [n - 2]),
        lambda n: (n - 1, f"events #{n - 1} to #{n} missing from the end"),
    ),
}


def single_walk() -> Verification:
    """The chain walked once from the first event, as the verifier always did."""
    links = [
        Link(seq=e.pos, fields=e.chained_fields(), prev_hash=e.prev_hash, hash=e.hash)
        for e in AuditEvent.objects.filter(pos__gt=0).order_by("pos")
    ]
    return verify_chain(links)


@pytest.mark.requirement("AUD-2")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", CASES)
def test_ranges_in_processes_name_the_break_as_one_walk_does(case, ledger):
    tamper, finding = CASES[case]
    with tampering():
        tamper(ledger)
    last = AuditEvent.objects.order_by("-pos").values_list("pos", flat=True)[0]
    assert processes_for(last, workers=WORKERS) == WORKERS

    parallel = verify_ledger(workers=WORKERS)

    at, words = finding(ledger)
    assert parallel.broken_at == at and parallel.problem.startswith(words), parallel
    assert parallel == verify_ledger(workers=1)
    with transaction.atomic():
        assert parallel == verify_ledger()  # walked through the ORM on this connection
    walk = single_walk()
    if not walk.intact:
        assert parallel == walk


@pytest.mark.requirement("AUD-2")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_intact_ledger_verifies_in_ranges_with_the_head_of_one_walk(ledger):
    head = ChainHead.objects.get()
    for workers in (1, 2, WORKERS, 5):
        result = verify_ledger(workers=workers)
        assert result.intact, result.problem
        assert (result.checked, result.last_seq, result.last_hash) == (
            ledger,
            head.last_seq,
            head.last_hash,
        )
    with transaction.atomic():
        assert verify_ledger() == result
    assert verify_ledger(workers=WORKERS) == single_walk()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_audit_verify_takes_the_number_of_processes(ledger):
    out = io.StringIO()
    call_command("audit_verify", "--workers", str(WORKERS), stdout=out)
    assert f"OK: {ledger} events checked" in out.getvalue()
    with tampering():
        alter(s1(ledger))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_verify", "--workers", str(WORKERS), stderr=err)
    assert exit_.value.code == 1
    assert f"BROKEN at event #{s1(ledger)}: event #{s1(ledger)} was altered" in err.getvalue()

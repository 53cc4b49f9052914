"""One range of the ledger verified in a process of its own, on a connection of its own.

No Django import: a process started for one range imports only this, psycopg and the chain
module, and reads its rows as plain values through a server-side cursor. The caller (see
verification.py) gives the query and the connection parameters.
"""

from dataclasses import dataclass

import psycopg
from psycopg.types.string import TextLoader

from .chain import GENESIS_HASH, Start, Verification, gap_after, json_value, verify_rows

# Rows fetched per round trip: large enough that the round trips cost little, small enough
# that a process holds a few megabytes.
ITERSIZE = 5000


@dataclass(frozen=True)
class Ledger:
    """Where a process finds the ledger: psycopg connection parameters, the table, and the
    SELECT list giving chain.ROW_FIELDS with the time already in ISO 8601."""

    params: dict[str, str | int]
    table: str
    columns: str


def spans(last: int, parts: int) -> list[tuple[int, int]]:
    """[1, last] cut into `parts` consecutive ranges of near-equal length."""
    parts = max(1, min(parts, last))
    bounds = [1 + last * n // parts for n in range(parts + 1)]
    return [(bounds[n], bounds[n + 1] - 1) for n in range(parts)]


def verify_span(ledger: Ledger, first: int, last: int) -> Verification:
    """Check events #first to #last as a walk of the whole chain would, given that every
    event before #first is intact. An event missing at the end of the range is reported
    against the next event stored after it."""
    with psycopg.connect(**ledger.params) as conn:
        conn.read_only = True
        conn.adapters.register_loader("jsonb", TextLoader)  # decoded here, not by psycopg
        start = _start(conn, ledger.table, first)
        with conn.cursor(name=f"audit_verify_{first}") as cursor:
            cursor.itersize = ITERSIZE
            cursor.execute(
                f"SELECT {ledger.columns} FROM {ledger.table} "  # noqa: S608 (names from the model)
                "WHERE pos BETWEEN %s AND %s ORDER BY pos",
                (first, last),
            )
            result = verify_rows(cursor, start=start, at=str, changes=json_value)
        if result.intact and result.last_seq < last:
            after = conn.execute(
                f"SELECT min(pos) FROM {ledger.table} WHERE pos > %s",  # noqa: S608
                (last,),
            ).fetchone()
            if after and after[0] is not None:
                result = gap_after(result, after[0])
    return result


def _start(conn: psycopg.Connection, table: str, first: int) -> Start:
    """The stored hashes of the two events before #first. If one is missing, the range before
    reports that earlier, so the empty placeholder here is never the finding that counts."""
    if first == 1:
        return Start()
    found = dict(
        conn.execute(
            f"SELECT pos, hash FROM {table} WHERE pos IN (%s, %s)",  # noqa: S608
            (first - 1, first - 2),
        ).fetchall()
    )
    prev_prev = GENESIS_HASH if first == 2 else found.get(first - 2)
    return Start(seq=first, prev=found.get(first - 1, ""), prev_prev=prev_prev)

"""A lost connection to PostgreSQL, told apart from every other database error.

A backend terminated by the operator (`pg_terminate_backend`), a server restarted or shut
down, a network cut: the transaction the request was in is gone with the connection, so
nothing of it was saved, and asking again is the right answer. Every other database error
(a constraint, a deadlock, SQLite's own errors) is not this and keeps its own handling."""

from django.db import InterfaceError, OperationalError, connection

# Class 08 (connection exception) and the server going away under a live session.
_LOST_CLASS = "08"
_LOST_STATES = frozenset(
    {
        "57P01",  # admin_shutdown: pg_terminate_backend, or a fast/smart shutdown
        "57P02",  # crash_shutdown: another backend crashed and the server reset
        "57P03",  # cannot_connect_now: the server is starting up or shutting down
    }
)

NOTHING_SAVED = (
    "The database connection was lost, so this request did not finish: nothing of it was "
    "saved. Try again."
)
MAYBE_SAVED = (
    "The database connection was lost after this request's change was saved, before the "
    "answer was ready: check what was saved before trying again."
)


def connection_lost(exc: BaseException) -> bool:
    """True when `exc` is Django's wrapping of psycopg saying the connection is gone."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    if cause is None or not type(cause).__module__.startswith("psycopg"):
        return False  # SQLite's "database is locked" is an OperationalError too
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(_LOST_CLASS) or sqlstate in _LOST_STATES
    # No SQLSTATE: the client library's own report (server closed the connection
    # unexpectedly, connection refused, the connection is closed).
    return True


def nothing_saved() -> bool:
    """Whether the request's work went whole with the connection. When the connection
    breaks inside a transaction, Django cannot roll it back, drops the connection and opens
    a fresh one as the block ends (or has none, the server being down): the transaction is
    gone and nothing of it was saved. When it breaks outside any transaction (a read after
    a service committed), Django keeps the broken connection to the end of the request:
    what the request changed before may have been saved."""
    current = connection.connection
    # SQLite's connection has no `closed` (and is never lost as a server's is: see above).
    return current is None or not getattr(current, "closed", False)


def lost_message() -> str:
    return NOTHING_SAVED if nothing_saved() else MAYBE_SAVED

"""Which database errors count as a lost connection (answered 503 "try again"), and which
keep their own handling: a deadlock, a unique index, SQLite's own errors are not one."""

import sqlite3

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError

from core.database import connection_lost


def wrapped(django_error, cause: BaseException) -> Exception:
    """As Django raises it: its own class, the driver's error as the cause."""
    try:
        raise django_error(str(cause)) from cause
    except django_error as exc:
        return exc


def sqlite_error() -> sqlite3.OperationalError:
    try:
        sqlite3.connect(":memory:").execute("SELECT * FROM missing")
    except sqlite3.OperationalError as exc:
        return exc
    raise AssertionError("SQLite found the table")


@pytest.mark.requirement("FLT-1")
@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (wrapped(OperationalError, psycopg.errors.AdminShutdown()), True),  # terminated
        (wrapped(OperationalError, psycopg.errors.CrashShutdown()), True),
        (wrapped(OperationalError, psycopg.errors.CannotConnectNow()), True),  # starting up
        (wrapped(OperationalError, psycopg.errors.ConnectionFailure()), True),  # class 08
        (wrapped(OperationalError, psycopg.OperationalError("connection refused")), True),
        (wrapped(InterfaceError, psycopg.InterfaceError("connection already closed")), True),
        (wrapped(OperationalError, psycopg.errors.DeadlockDetected()), False),
        (wrapped(OperationalError, psycopg.errors.QueryCanceled()), False),  # a timeout
        (wrapped(IntegrityError, psycopg.errors.UniqueViolation()), False),
        (wrapped(DatabaseError, psycopg.DatabaseError("other")), False),
        (wrapped(OperationalError, sqlite_error()), False),  # "no such table", "locked"
        (OperationalError("no cause"), False),
        (ValueError("not a database error"), False),
    ],
)
def test_only_a_lost_postgresql_connection_counts_as_lost(error, lost):
    assert connection_lost(error) is lost


@pytest.mark.requirement("FLT-1")
@pytest.mark.parametrize(
    ("cause", "status"),
    [(psycopg.errors.AdminShutdown(), 503), (psycopg.errors.DeadlockDetected(), 500)],
)
def test_a_connection_lost_outside_a_view_gets_the_same_page(rf, cause, status):
    """Raised in a middleware (the session's save, say), a lost connection reaches the
    server-error handler rather than the middleware that answers views: the same 503 page."""
    from config.errors import server_error

    request = rf.get("/families/")
    try:
        raise wrapped(OperationalError, cause)
    except OperationalError:
        response = server_error(request)
    assert response.status_code == status
    if status == 503:
        assert response["Retry-After"] == "1"
        assert b"nothing" in response.content.lower()

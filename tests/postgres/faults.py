"""Tools for the fault tests: a row lock held from the test's own connection, so that a
request stops inside its transaction at a known point; the request's backend found waiting
on it and terminated; and the checks that nothing half-written remains."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, connections, transaction

from audit.models import AuditEvent


@contextmanager
def row_locked(model, **where) -> Iterator[None]:
    """Hold FOR UPDATE on the model's rows matching `where` until the block ends: a
    request that needs one of them waits, inside its transaction, at that point."""
    with transaction.atomic():
        rows = list(model.objects.select_for_update().filter(**where).values_list("pk", flat=True))
        assert rows, f"no {model.__name__} row to hold"
        yield


def waiting_on_me(*, timeout: float = 30) -> tuple[int, str]:
    """The backend blocked by a lock this connection holds: (pid, the query it waits in)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the activity view is a snapshot: take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT pid, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            found = cursor.fetchall()
            if found:
                assert len(found) == 1, found
                return found[0]
            time.sleep(0.05)
    raise AssertionError(f"no request waited on the held lock within {timeout:.0f} s")


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0], f"backend {pid} was not terminated"


class InThread:
    """A call made in a thread of its own (so with its own database connection, as a
    request to another server process would be); `result()` waits for what it returned
    or raised."""

    def __init__(self, call: Callable[[], object]):
        self._call, self._outcome = call, None
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome = self._call()
        except Exception as exc:  # the outcome under test
            self._outcome = exc
        finally:
            connections.close_all()

    def result(self, timeout: float = 60) -> object:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the request was still running after {timeout} s"
        return self._outcome


def ledger_state() -> tuple[int, str]:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return last or (0, "")


def assert_each_row_has_its_event(model, event_type: str) -> None:
    """Every row of the model has its event in the ledger, and every such event its row:
    nothing was written without its audit, nor audited without being written."""
    rows = {str(pk) for pk in model.objects.values_list("pk", flat=True)}
    events = list(
        AuditEvent.objects.filter(event_type=event_type, object_type=model._meta.label).values_list(
            "object_id", flat=True
        )
    )
    assert len(events) == len(set(events)), f"an object audited twice as {event_type}"
    assert set(events) == rows, (sorted(rows - set(events)), sorted(set(events) - rows))

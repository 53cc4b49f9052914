"""Transactional tests end with Django's flush, which empties every table; the ledger's
triggers, and the locks' where data are held, refuse that, as they should. In tests only,
lift them for the flush and put them back, as a database owner restoring a test database
would."""

from django.core.management.commands import flush
from django.db import connections

from audit import triggers as ledger_triggers
from lock import triggers as lock_triggers


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        ledger_triggers.remove(connection)
        lock_triggers.remove(connection)
        try:
            return super().handle(**options)
        finally:
            ledger_triggers.install(connection)
            lock_triggers.install(connection)

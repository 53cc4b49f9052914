"""Transactional tests end with Django's flush, which empties every table; the ledger's
triggers refuse that, as they should. In tests only, lift them for the flush and put them
back, as a database owner restoring a test database would."""

from django.core.management.commands import flush
from django.db import connections

from audit import triggers


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        triggers.remove(connection)
        try:
            return super().handle(**options)
        finally:
            triggers.install(connection)

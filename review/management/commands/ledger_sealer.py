import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from audit.sealing import BATCHED, seal_waiting, sealing_mode


class Command(BaseCommand):
    help = (
        "Run the ledger's sealer (batched sealing, PostgreSQL): seal the events waiting, "
        "then look again every --interval seconds. One sealer seals at a time; more than one "
        "running only wait for each other. Writers nudge the sealer too, and a beat task "
        "seals every 10 seconds, so this process shortens the wait, it is not required."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.1, help="seconds between looks")
        parser.add_argument("--once", action="store_true", help="seal what waits, then stop")

    def handle(self, *args, interval: float, once: bool, **options):
        if sealing_mode() != BATCHED:
            self.stdout.write("The ledger seals inline here: there is nothing to run.")
            return
        while True:
            try:
                sealed = seal_waiting()
            except DatabaseError as exc:
                # The database went away: say so, and look again once it is back.
                self.stderr.write(f"sealing failed, trying again: {exc}")
                close_old_connections()
                sealed = 0
                time.sleep(max(interval, 1.0))
            if once:
                self.stdout.write(f"Events sealed: {sealed}.")
                return
            if not sealed:
                time.sleep(interval)

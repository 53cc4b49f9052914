from pathlib import Path

from django.core.management.base import BaseCommand

from core.channels import Channel
from review.backup import backup_check_record
from sites.commands import actor_from

from ._backup_report import check_and_report


class Command(BaseCommand):
    help = (
        "Prove an existing backup (made by `backup`): check its SHA-256 against its manifest, "
        "restore it into a new database, verify the ledger there against the head recorded "
        "at backup time, compare every table's row count, drop the database. Exit 1 on any "
        "difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("dump", type=Path, help="the .dump file; its .json manifest beside it")
        parser.add_argument(
            "--keep", action="store_true", help="keep the database restored for the check"
        )
        parser.add_argument(
            "--database",
            metavar="NAME",
            help="check this database, already restored from the dump, instead of restoring "
            "it again (nothing is created or dropped)",
        )
        parser.add_argument("--as", dest="actor", help="username recorded with the check")

    def handle(self, *args, dump, keep=False, database=None, actor=None, **options):
        acting = actor_from(actor) if actor else None
        report = check_and_report(
            self, dump=dump, keep=keep, database=database or "", verbosity=options["verbosity"]
        )
        backup_check_record(report=report, actor=acting, channel=Channel.COMMAND)
        if not report.passed:
            raise SystemExit(1)

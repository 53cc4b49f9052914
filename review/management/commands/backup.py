from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.channels import Channel
from review.backup import BackupError, backup_check_record, backup_make
from sites.commands import actor_from

from ._backup_report import check_and_report


class Command(BaseCommand):
    help = (
        "Back up the PostgreSQL database with pg_dump (custom format) and a manifest (the "
        "ledger's head and every table's row count, read in the dump's own snapshot), then "
        "prove the backup: restore it into a new database, verify the ledger there against "
        "the head recorded, compare the counts, drop it. Exit 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            dest="directory",
            type=Path,
            help=f"where the dump and its manifest go (default BACKUP_DIR, {settings.BACKUP_DIR})",
        )
        parser.add_argument(
            "--no-check", action="store_true", help="make the backup only; do not restore it"
        )
        parser.add_argument(
            "--keep", action="store_true", help="keep the database restored for the check"
        )
        parser.add_argument("--as", dest="actor", help="username recorded with the check")

    def handle(self, *args, directory=None, no_check=False, keep=False, actor=None, **options):
        acting = actor_from(actor) if actor else None
        try:
            dump, manifest = backup_make(directory=directory or settings.BACKUP_DIR)
        except BackupError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Backup: {dump} ({manifest.size} bytes, sha256 {manifest.sha256})")
        self.stdout.write(
            f"At the dump: ledger head #{manifest.head_seq} {manifest.head_hash}; "
            f"{len(manifest.tables)} tables, {manifest.rows} rows"
        )
        if no_check:
            return
        report = check_and_report(self, dump=dump, keep=keep, verbosity=options["verbosity"])
        backup_check_record(report=report, actor=acting, channel=Channel.COMMAND)
        if not report.passed:
            raise SystemExit(1)

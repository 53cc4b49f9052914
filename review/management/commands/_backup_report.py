"""What the backup commands share: run the restore check and print its report."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.backup import BackupError, CheckReport, backup_check, report_lines


def check_and_report(
    command: BaseCommand, *, dump: Path, keep: bool, verbosity: int, database: str = ""
) -> CheckReport:
    try:
        report = backup_check(dump=dump, keep=keep, database=database)
    except BackupError as exc:
        raise CommandError(exc.message) from exc
    out = command.stdout if report.passed else command.stderr
    for line in report_lines(report):
        out.write(line)
    if keep and not database:
        command.stdout.write(f"Kept: database {report.database}")
    if verbosity > 1:
        for table, rows in sorted(report.manifest.tables.items()):
            command.stdout.write(f"  {table}: {rows}")
    return report

"""Backups of the PostgreSQL database, proven by restoring them.

A backup is a `pg_dump` custom-format file and a JSON manifest beside it. The manifest holds
what the database held at the moment of the dump: the ledger's head and the row count of
every table, read in the very snapshot pg_dump copies (a REPEATABLE READ transaction exports
its snapshot; pg_dump --snapshot reads the same one), so nothing committed in between can
make them disagree. The check restores the file into a new database, verifies the ledger's
chain there against the head recorded at backup time, and compares every table's count."""

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.db import connections, transaction
from django.db.utils import load_backend
from django.utils import timezone

from audit.chain import GENESIS_HASH, Verification
from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent
from audit.sealing import seal_waiting
from audit.verification import verify_ledger
from core.channels import Channel
from core.errors import TrialError
from sites.notifications import notify

from .heads import trial_manager_emails

TOOLS = ("pg_dump", "pg_restore", "createdb", "dropdb")
MANIFEST_FORMAT = 1


class BackupError(TrialError):
    """The backup or its check could not be made (not the same as a check that failed)."""


@dataclass(frozen=True)
class Manifest:
    database: str
    dump: str  # the dump file's name, beside the manifest
    sha256: str
    size: int
    made_at: str
    pg_dump_version: str
    server_version: str
    head_seq: int
    head_hash: str
    tables: dict[str, int]
    format: int = MANIFEST_FORMAT

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except FileNotFoundError as exc:
            raise BackupError(f"{path}: no manifest beside the dump", field="manifest") from exc
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{path}: not a backup manifest ({exc})", field="manifest") from exc


@dataclass
class CheckReport:
    manifest: Manifest
    database: str
    ledger: Verification
    # (table, rows at backup, rows restored) for each table whose count differs; a table
    # missing on one side counts None there.
    mismatches: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.ledger.intact and not self.mismatches and not self.problems


def manifest_path(dump: Path) -> Path:
    return dump.with_suffix(".json")


# The connection ---------------------------------------------------------------------------


def source_settings() -> dict:
    """The default database's settings; BackupError unless it is PostgreSQL."""
    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"] != "django.db.backends.postgresql":
        raise BackupError(
            "Backups are made of the PostgreSQL deployment; this installation runs on "
            f"{connections['default'].vendor} ({settings_dict['NAME']}). Set DATABASE_URL to "
            "the PostgreSQL database to back up.",
            field="database",
        )
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise BackupError(
            f"{', '.join(missing)} not found on PATH: install the PostgreSQL client "
            "(postgresql-client) of the server's major version or later.",
            field="database",
        )
    return settings_dict


def _client_env(settings_dict: dict) -> dict[str, str]:
    """The connection details for the client tools, as libpq reads them from the environment
    (so the password never shows in the process list)."""
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings_dict.get(key):
            env[name] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    if sslmode := settings_dict.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = sslmode
    return env


def _run(settings_dict: dict, tool: str, *args: str) -> str:
    # --no-password: a tool that needs a password it was not given fails instead of prompting.
    command = [tool, *args] if args == ("--version",) else [tool, "--no-password", *args]
    done = subprocess.run(  # noqa: S603 - fixed tools, arguments as a list
        command,
        env=_client_env(settings_dict),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(
            f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}",
            field="database",
        )
    return done.stdout


@contextmanager
def connection_to(database: str, alias: str) -> Iterator:
    """A Django connection to another database of the same server, open for the duration and
    in this thread only (the settings are left alone): the ORM's own queries (the ledger's
    verification) then run against it with `using=alias`."""
    settings_dict = copy.deepcopy(source_settings())
    settings_dict["NAME"] = database
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    connections[alias] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        del connections[alias]


def table_counts(alias: str) -> dict[str, int]:
    """Every table of the database (not the system catalogues) and its exact row count."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY schemaname, tablename"
        )
        tables = cursor.fetchall()
        counts = {}
        for schema, table in tables:
            quote = connections[alias].ops.quote_name
            cursor.execute(f"SELECT count(*) FROM {quote(schema)}.{quote(table)}")  # noqa: S608
            name = table if schema == "public" else f"{schema}.{table}"
            counts[name] = cursor.fetchone()[0]
    return counts


def _head(alias: str) -> tuple[int, str]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT last_seq, last_hash FROM audit_chainhead WHERE id = 1")
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


# Making a backup ----------------------------------------------------------------------------


def backup_make(*, directory: Path) -> tuple[Path, Manifest]:
    """Dump the database into `directory`, with its manifest. Returns the dump's path."""
    settings_dict = source_settings()
    source = settings_dict["NAME"]
    directory.mkdir(parents=True, exist_ok=True)
    made_at = timezone.now()
    dump = directory / f"{source}-{made_at:%Y%m%dT%H%M%SZ}.dump"
    partial = dump.with_suffix(".dump.partial")
    version = _run(settings_dict, "pg_dump", "--version").strip()
    # Events waiting to be sealed are sealed first, so that the head recorded is the ledger's.
    seal_waiting()
    try:
        server_version, head_seq, head_hash, tables = _dump_in_snapshot(
            settings_dict, source=source, into=partial
        )
    except BaseException:
        partial.unlink(missing_ok=True)  # no half-written dump left to be mistaken for one
        raise
    partial.rename(dump)
    manifest = Manifest(
        database=source,
        dump=dump.name,
        sha256=file_sha256(dump),
        size=dump.stat().st_size,
        made_at=made_at.isoformat(timespec="seconds"),
        pg_dump_version=version,
        server_version=server_version,
        head_seq=head_seq,
        head_hash=head_hash,
        tables=tables,
    )
    manifest.write(manifest_path(dump))
    return dump, manifest


def _dump_in_snapshot(
    settings_dict: dict, *, source: str, into: Path
) -> tuple[str, int, str, dict[str, int]]:
    """Run pg_dump in a snapshot exported by a transaction that reads the ledger's head and
    every table's count in it first. Returns the server's version, the head and the counts."""
    with connection_to(source, "backup_snapshot") as conn, transaction.atomic(using=conn.alias):
        with conn.cursor() as cursor:
            # The first statement of the transaction fixes its snapshot: exported, pg_dump reads
            # the same one, so the head and counts below are those of the dump, exactly.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
        head_seq, head_hash = _head(conn.alias)
        tables = table_counts(conn.alias)
        # The snapshot lives as long as this transaction: it stays open until pg_dump is done.
        _run(
            settings_dict,
            "pg_dump",
            "--format=custom",
            f"--snapshot={snapshot}",
            f"--file={into}",
            f"--dbname={source}",
        )
    return server_version, head_seq, head_hash, tables


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Restoring and checking -----------------------------------------------------------------------


def backup_read(dump: Path) -> Manifest:
    """The dump's manifest, after checking the file is the one it describes."""
    if not dump.is_file():
        raise BackupError(f"{dump}: no such backup file", field="dump")
    manifest = Manifest.read(manifest_path(dump))
    if manifest.format != MANIFEST_FORMAT:
        raise BackupError(f"{dump}: manifest format {manifest.format} unknown", field="manifest")
    found = file_sha256(dump)
    if found != manifest.sha256:
        raise BackupError(
            f"{dump}: its SHA-256 is {found}, the manifest says {manifest.sha256}: the file "
            "was changed or damaged after the backup",
            field="dump",
        )
    return manifest


def scratch_name(manifest: Manifest) -> str:
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    base = re.sub(r"[^a-z0-9_]", "_", manifest.database.lower())[:30]
    return f"{base}_restored_{stamp}"


def backup_restore(*, dump: Path, database: str) -> None:
    """Create `database` and restore the dump into it, in one transaction: all or nothing."""
    settings_dict = source_settings()
    _run(settings_dict, "createdb", "--template=template0", database)
    try:
        _run(
            settings_dict,
            "pg_restore",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--dbname={database}",
            str(dump),
        )
    except BackupError:
        database_drop(database)
        raise


def backup_compare(*, manifest: Manifest, database: str) -> CheckReport:
    """Verify the restored database's ledger against the head recorded at backup time, and
    compare the row count of every table with the manifest's."""
    with connection_to(database, "backup_restored") as conn:
        anchor = (manifest.head_seq, manifest.head_hash) if manifest.head_seq else None
        ledger = verify_ledger(expect_head=anchor, using=conn.alias)
        counts = table_counts(conn.alias)
    report = CheckReport(manifest=manifest, database=database, ledger=ledger)
    if ledger.intact and (ledger.last_seq, ledger.last_hash) != (
        manifest.head_seq,
        manifest.head_hash,
    ):
        report.problems.append(
            f"the restored ledger ends at event #{ledger.last_seq}, the backup's at "
            f"#{manifest.head_seq}"
        )
    for table in sorted(set(manifest.tables) | set(counts)):
        expected, found = manifest.tables.get(table), counts.get(table)
        if expected != found:
            report.mismatches.append((table, expected, found))
    return report


def database_drop(database: str) -> None:
    _run(source_settings(), "dropdb", "--if-exists", database)


def backup_check(*, dump: Path, keep: bool = False, database: str = "") -> CheckReport:
    """Restore `dump` into a new database and compare it with its manifest; the database is
    dropped afterwards unless `keep`. With `database`, check that database instead (one
    already restored from the dump), and neither restore nor drop anything."""
    source_settings()  # PostgreSQL, with its client tools, before anything else
    manifest = backup_read(dump)
    if database:
        return backup_compare(manifest=manifest, database=database)
    scratch = scratch_name(manifest)
    backup_restore(dump=dump, database=scratch)
    try:
        return backup_compare(manifest=manifest, database=scratch)
    finally:
        if not keep:
            database_drop(scratch)


def report_lines(report: CheckReport) -> list[str]:
    """The check in words, one line a finding."""
    manifest, ledger = report.manifest, report.ledger
    lines = [f"Backup {manifest.dump} of {manifest.database}, made {manifest.made_at}"]
    lines.append(f"Checked in database {report.database}")
    if ledger.intact and not report.problems:
        lines.append(
            f"Ledger: chain intact, {ledger.checked} events; head #{manifest.head_seq} "
            f"{manifest.head_hash} as recorded at backup"
        )
    if report.mismatches:
        lines.append(f"Tables: {len(report.mismatches)} of {len(manifest.tables)} differ")
    else:
        lines.append(
            f"Tables: {len(manifest.tables)} compared, {manifest.rows} rows, every count matches"
        )
    lines.extend(f"MISMATCH: {problem}" for problem in describe_failure(report))
    lines.append("PASSED" if report.passed else "FAILED")
    return lines


# Recording the check ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def backup_check_record(*, report: CheckReport, actor, channel: Channel) -> AuditEvent:
    """Record a restore check in the ledger; a failed one also emails every trial manager."""
    manifest = report.manifest
    changes = {
        "dump": [None, manifest.dump],
        "sha256": [None, manifest.sha256],
        "head_seq": [None, manifest.head_seq],
        "head_hash": [None, manifest.head_hash],
        "tables": [None, len(manifest.tables)],
        "rows": [None, manifest.rows],
    }
    who = "" if actor else f"system:{channel}"
    if report.passed:
        return record(
            event=EventType.BACKUP_CHECKED,
            actor=actor,
            actor_username=who,
            channel=channel,
            changes=changes,
        )
    problems = describe_failure(report)
    event = record(
        event=EventType.BACKUP_CHECK_FAILED,
        actor=actor,
        actor_username=who,
        channel=channel,
        changes={**changes, "problems": [None, problems]},
    )
    body = (
        f"The restore check of the backup {manifest.dump} (made {manifest.made_at}) FAILED:\n\n"
        + "\n".join(f"- {problem}" for problem in problems)
        + "\n\nDo not rely on this backup. See docs/backup-and-restore.md, 'If a check fails'."
    )
    notify(
        recipients=trial_manager_emails(),
        subject="BACKUP RESTORE CHECK FAILED",
        body=body,
        site=None,
        actor=actor,
    )
    return event


def describe_failure(report: CheckReport) -> list[str]:
    problems = []
    if not report.ledger.intact:
        problems.append(
            f"ledger broken at event #{report.ledger.broken_at}: {report.ledger.problem}"
        )
    problems.extend(report.problems)
    problems.extend(
        f"table {table}: {_rows(expected)} at backup, {_rows(found)} restored"
        for table, expected, found in report.mismatches
    )
    return problems


def _rows(count: int | None) -> str:
    return "missing" if count is None else f"{count} rows"

"""A backup restored into a new database and proven: the ledger verifies there against the
head recorded at backup time, and every table has the rows it had at the dump. A tampered
restore (one changed event, a chain rewritten, a row gone) fails, naming what differs.

The tests are transactional: pg_dump reads what is committed, from its own connection."""

import io
import json
import threading
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections, transaction

from audit.chain import link_hash
from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent, ChainHead
from core.channels import Channel
from review.backup import (
    Manifest,
    backup_make,
    backup_restore,
    connection_to,
    database_drop,
    manifest_path,
    scratch_name,
    table_counts,
)
from sites.lifecycle import site_update

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.requirement("BCK-1"),
]


@pytest.fixture
def trial(world):
    """The World's small trial, with a few more events from a service."""
    for target in range(31, 37):
        site_update(
            site=world.mkn, actor=world.manager, channel=Channel.API, recruitment_target=target
        )
    return world


@pytest.fixture
def restored(tmp_path):
    """A backup (no check) restored into a scratch database, dropped after the test."""
    made = []

    def make() -> tuple[Path, Manifest, str]:
        dump, manifest = backup_make(directory=tmp_path)
        database = scratch_name(manifest)
        backup_restore(dump=dump, database=database)
        made.append(database)
        return dump, manifest, database

    yield make
    for database in made:
        database_drop(database)


def run(name: str, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def sql(alias: str, statement: str, params=()) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(statement, params)


def databases() -> set[str]:
    """The databases restored from this test database (other clients of the server make
    and drop their own meanwhile)."""
    prefix = f"{connections['default'].settings_dict['NAME']}_restored_"
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix])
        return {row[0] for row in cursor.fetchall()}


def test_a_backup_restores_with_the_ledger_head_and_row_counts_of_the_dump(trial, tmp_path):
    head = ChainHead.objects.get(pk=1)
    events = AuditEvent.objects.count()
    before = databases()

    code, out, err = run("backup", "--dir", str(tmp_path), "--keep")

    assert code == 0, err
    [dump] = tmp_path.glob("*.dump")
    manifest = json.loads(manifest_path(dump).read_text())
    assert (manifest["head_seq"], manifest["head_hash"]) == (head.last_seq, head.last_hash)
    assert manifest["tables"]["audit_auditevent"] == events
    assert manifest["tables"]["sites_site"] == 3
    assert manifest["pg_dump_version"].startswith("pg_dump (PostgreSQL)")
    assert manifest["dump"] == dump.name and len(manifest["sha256"]) == 64
    assert f"ledger head #{head.last_seq} {head.last_hash}" in out
    assert f"head #{head.last_seq} {head.last_hash} as recorded at backup" in out
    assert "every count matches" in out and out.rstrip().splitlines()[-2] == "PASSED"

    [kept] = databases() - before
    try:
        with connection_to(kept, "kept") as conn:
            assert table_counts(conn.alias) == manifest["tables"]
            assert AuditEvent.objects.using("kept").count() == events
    finally:
        database_drop(kept)

    checked = AuditEvent.objects.get(event_type=EventType.BACKUP_CHECKED)
    assert checked.actor_username == "system:command"
    assert checked.changes["dump"] == [None, dump.name]
    assert checked.changes["head_seq"] == [None, head.last_seq]


def test_the_scratch_database_is_dropped_unless_kept(trial, tmp_path):
    before = databases()
    code, _out, err = run("backup", "--dir", str(tmp_path))
    assert code == 0, err
    assert databases() == before


def test_the_counts_are_those_of_the_dump_while_others_write(trial, tmp_path):
    """The head and the counts are read in the snapshot pg_dump copies: events committed
    while the backup runs are in neither, so the restore still matches exactly."""
    stop, written = threading.Event(), []

    def writer() -> None:
        try:
            while not stop.is_set():
                with transaction.atomic():
                    written.append(
                        record(event=EventType.UPDATE, actor=trial.manager, channel=Channel.API)
                    )
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        code, out, err = run("backup", "--dir", str(tmp_path))
    finally:
        stop.set()
        thread.join(30)
    assert code == 0, err + out
    [dump] = tmp_path.glob("*.dump")
    manifest = Manifest.read(manifest_path(dump))
    assert written and manifest.head_seq < written[-1].seq  # writes went on after the dump
    assert manifest.tables["audit_auditevent"] == manifest.head_seq


@pytest.mark.requirement("AUD-2")
def test_a_restore_with_one_event_changed_fails_naming_it(trial, restored):
    dump, _manifest, database = restored()
    victim = AuditEvent.objects.filter(event_type="update").order_by("seq")[2].seq
    with connection_to(database, "victim"):
        # An attacker with the superuser's rights lifts the ledger's triggers first.
        sql("victim", "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
        sql("victim", "UPDATE audit_auditevent SET reason = 'covered up' WHERE seq = %s", [victim])

    code, _out, err = run("backup_check", str(dump), "--database", database)

    assert code == 1
    assert f"ledger broken at event #{victim}: event #{victim} was altered" in err
    assert err.rstrip().endswith("FAILED")
    failed = AuditEvent.objects.get(event_type=EventType.BACKUP_CHECK_FAILED)
    assert any(f"event #{victim} was altered" in p for p in failed.changes["problems"][1])
    [email] = mail.outbox
    assert email.to == [trial.manager.email] and "FAILED" in email.subject
    assert f"#{victim}" in email.body


@pytest.mark.requirement("AUD-2")
def test_a_restore_with_the_chain_rewritten_fails_against_the_head_recorded(trial, restored):
    """Every hash recomputed after the change: the chain verifies on its own, but the head
    recorded in the manifest at backup time no longer matches."""
    dump, manifest, database = restored()
    victim = AuditEvent.objects.order_by("seq")[1].seq
    with connection_to(database, "victim"):
        sql("victim", "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
        events = AuditEvent.objects.using("victim")
        prev = events.get(seq=victim).prev_hash
        for event in events.filter(seq__gte=victim).order_by("seq"):
            if event.seq == victim:
                event.reason = "rewritten"
            event.prev_hash, event.hash = prev, link_hash(prev, event.chained_fields())
            events.filter(seq=event.seq).update(
                reason=event.reason, prev_hash=event.prev_hash, hash=event.hash
            )
            prev = event.hash
        ChainHead.objects.using("victim").filter(pk=1).update(last_hash=prev)

    code, _out, err = run("backup_check", str(dump), "--database", database)

    assert code == 1
    assert (
        f"ledger broken at event #{manifest.head_seq}: event #{manifest.head_seq} does not "
        "match its anchor" in err
    )


def test_a_restore_with_a_row_missing_fails_naming_the_table(trial, restored):
    dump, manifest, database = restored()
    with connection_to(database, "victim"):
        sql(
            "victim",
            "DELETE FROM sites_historicalsite WHERE history_id = "
            "(SELECT max(history_id) FROM sites_historicalsite)",
        )
    rows = manifest.tables["sites_historicalsite"]

    code, _out, err = run("backup_check", str(dump), "--database", database)

    assert code == 1
    assert f"table sites_historicalsite: {rows} rows at backup, {rows - 1} rows restored" in err
    assert "ledger broken" not in err


def test_yesterdays_backup_restores_and_passes(trial, tmp_path):
    dump, _manifest = backup_make(directory=tmp_path)
    site_update(site=trial.mkn, actor=trial.manager, channel=Channel.API, recruitment_target=50)
    before = databases()

    code, out, err = run("backup_check", str(dump))

    assert code == 0, err
    assert out.rstrip().endswith("PASSED")
    assert databases() == before


def test_a_dump_changed_after_the_backup_is_refused(trial, tmp_path):
    dump, _manifest = backup_make(directory=tmp_path)
    with dump.open("r+b") as data:
        data.seek(-10, 2)
        data.write(b"0123456789")
    with pytest.raises(CommandError, match="was changed or damaged after the backup"):
        call_command("backup_check", str(dump))
    with pytest.raises(CommandError, match="no such backup file"):
        call_command("backup_check", str(tmp_path / "missing.dump"))

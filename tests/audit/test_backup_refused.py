"""Backups are for the PostgreSQL deployment: on SQLite the commands say so and do nothing."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection


@pytest.fixture
def on_sqlite(db):
    if connection.vendor != "sqlite":
        pytest.skip("the refusal is made on SQLite")


def test_a_backup_on_sqlite_is_refused_naming_the_deployment(on_sqlite, tmp_path):
    with pytest.raises(CommandError, match="Backups are made of the PostgreSQL deployment"):
        call_command("backup", "--dir", str(tmp_path))
    assert not any(tmp_path.iterdir())


def test_a_restore_check_on_sqlite_is_refused(on_sqlite, tmp_path):
    dump = tmp_path / "reconnect.dump"
    dump.write_bytes(b"PGDMP")
    dump.with_suffix(".json").write_text("{}")
    with pytest.raises(CommandError, match="PostgreSQL deployment"):
        call_command("backup_check", str(dump))

"""The lock from a script: the readiness report's exit status, and the lock through the
same service (a wrong password or a blocker refuses, writing nothing)."""

import pytest
from django.core.management import CommandError, call_command

from lock.models import DataLock
from tests.crf.conftest import randomised
from tests.factories import PASSWORD

from .conftest import ready_family

pytestmark = pytest.mark.django_db


def password_file(tmp_path, text: str):
    path = tmp_path / "password"
    path.write_text(text + "\n")
    return str(path)


def test_the_report_exits_1_while_anything_blocks_and_names_it(world, capsys):
    family = randomised(world)
    with pytest.raises(SystemExit) as blocked:
        call_command("lock_report")
    out = capsys.readouterr().out
    assert blocked.value.code == 1
    assert family.identifier in out and "block a lock of trial RC" in out
    with pytest.raises(CommandError, match="--population"):
        call_command("lock_report", population="secondary")


def test_a_statistician_locks_from_a_script(world, tmp_path, capsys):
    ready_family(world)
    call_command("lock_report")
    assert "Nothing blocks a lock of trial RC." in capsys.readouterr().out
    with pytest.raises(CommandError, match="password"):
        call_command("data_lock", actor="stats.blind", password_file=password_file(tmp_path, "no"))
    with pytest.raises(CommandError, match="Only"):
        call_command("data_lock", actor="manager", password_file=password_file(tmp_path, "x"))
    assert not DataLock.objects.exists()
    call_command("data_lock", actor="stats.blind", password_file=password_file(tmp_path, PASSWORD))
    assert "Locked: lock v1 of RC" in capsys.readouterr().out
    assert DataLock.objects.get().locked_by == world.stats_blind

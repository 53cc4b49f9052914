"""Exports at a lock: the same locked state gives the same bytes; an unblinded analysis
export waits for the lock and a final plan; who may export what; a job whose lock was
released fails and says so; downloads are recorded. Each refusal writes nothing."""

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from dataset.exporting import export_build, export_download, export_request
from dataset.models import Export
from dataset.services import (
    analysis_plan_record,
    data_lock,
    lock_unlock_approve,
    lock_unlock_request,
)
from tests.factories import PASSWORD

from .conftest import ready_family
from .export_support import bundle, table

pytestmark = pytest.mark.django_db
SHA = "ab" * 32


def lock(world, population=""):
    return data_lock(
        trial=world.trial,
        actor=world.stats_blind,
        channel=Channel.WEB,
        password=PASSWORD,
        population=population,
    )


def plan(world, *, final=True, version="1.0"):
    return analysis_plan_record(
        trial=world.trial,
        actor=world.stats_unblind,
        channel=Channel.WEB,
        title="ReConnect SAP",
        version=version,
        sha256=SHA,
        final=final,
    )


def export(world, who=None, *, blinded=True, interim=False, population=""):
    asked = export_request(
        trial=world.trial,
        actor=who or (world.stats_blind if blinded else world.stats_unblind),
        channel=Channel.COMMAND,
        blinded=blinded,
        interim=interim,
        population=population,
        enqueue=False,
    )
    return export_build(asked.pk)


def written():
    return Export.objects.count(), AuditEvent.objects.count()


@pytest.mark.requirement("EXP-1")
def test_two_exports_of_the_same_locked_state_are_byte_identical(world):
    family = ready_family(world)
    locked = lock(world)
    plan(world)
    first = export(world, blinded=False)
    # The ledger moves on (an interim snapshot, a download); the locked state does not.
    export(world, blinded=True, interim=True)
    export_download(export=first, actor=world.stats_unblind, channel=Channel.WEB)
    second = export(world, blinded=False)
    assert first.pk != second.pk and first.file_name != second.file_name
    one = (Path(settings.EXPORT_ROOT) / first.file_name).read_bytes()
    two = (Path(settings.EXPORT_ROOT) / second.file_name).read_bytes()
    assert one == two and first.sha256 == second.sha256 == hashlib.sha256(one).hexdigest()
    zf = bundle(second)
    manifest = json.loads(zf.read("MANIFEST.json"))
    assert manifest["bundle_id"] == f"{world.trial.code}-unblinded-lock1"
    assert manifest["state"] == "locked v1" and manifest["interim"] is False
    assert manifest["ledger"] == {"seq": locked.ledger_seq, "head": locked.ledger_head}
    assert manifest["lock"]["version"] == 1
    assert manifest["analysis_plan"] == {"title": "ReConnect SAP", "version": "1.0", "sha256": SHA}
    stamp = locked.locked_at.utctimetuple()[:6]
    stamp = (*stamp[:5], stamp[5] // 2 * 2)  # a zip keeps time to 2 seconds
    assert {info.date_time for info in zf.infolist()} == {stamp}
    families = table(zf, "families.csv")
    assert [r["family"] for r in families] == [family.identifier]
    assert families[0]["data_state"] == "locked v1" and families[0]["arm"] in ("1", "2")


def test_a_re_lock_is_a_new_version_and_its_export_says_so(world):
    ready_family(world)
    first = lock(world)
    lock_unlock_request(lock=first, actor=world.stats_blind, channel=Channel.WEB, reason="Fix.")
    lock_unlock_approve(lock=first, actor=world.manager, channel=Channel.WEB)
    lock(world)
    made = export(world)
    assert made.bundle_id == f"{world.trial.code}-blinded-lock2"
    assert table(bundle(made), "families.csv")[0]["data_state"] == "locked v2"


def test_an_unblinded_analysis_export_waits_for_the_lock_and_a_final_plan(world):
    ready_family(world)
    before = written()
    with pytest.raises(Conflict) as refused:
        export(world, blinded=False)
    assert refused.value.field == "interim" and "not locked" in refused.value.message
    with pytest.raises(Conflict):
        export(world, blinded=True)  # an analysis export, not an interim one, needs the lock
    assert written() == before
    lock(world)
    before = written()
    with pytest.raises(Conflict) as refused:
        export(world, blinded=False)
    assert refused.value.field == "plan"
    plan(world, final=False)
    before = written()
    with pytest.raises(Conflict):
        export(world, blinded=False)
    assert written() == before
    plan(world, final=True, version="1.1")
    made = export(world, blinded=False)
    assert made.status == Export.Status.DONE and made.plan.version == "1.1"


def test_a_blinded_export_and_an_interim_snapshot_need_no_lock(world):
    ready_family(world)
    blinded = export(world, blinded=True, interim=True)
    dmc = export(world, blinded=False, interim=True)
    assert blinded.status == dmc.status == Export.Status.DONE
    assert blinded.bundle_id.startswith(f"{world.trial.code}-blinded-interim-seq")
    assert "arm" in table(bundle(dmc), "families.csv")[0]
    assert "arm" not in table(bundle(blinded), "families.csv")[0]


@pytest.mark.parametrize("who", ["stats_blind", "manager", "coord_buc", "monitor_buc", "pi_buc"])
def test_only_an_unblinded_statistician_exports_the_arms(world, who):
    ready_family(world)
    before = written()
    with pytest.raises(NotPermitted):
        export(world, getattr(world, who), blinded=False, interim=True)
    assert written() == before


@pytest.mark.parametrize("who", ["manager", "coord_buc", "monitor_buc", "pi_buc", "outsider"])
def test_only_statisticians_export_at_all(world, who):
    before = written()
    with pytest.raises(NotPermitted):
        export(world, getattr(world, who), blinded=True, interim=True)
    assert written() == before


def test_a_statistician_also_blinded_somewhere_cannot_export_the_arms(world):
    from core.roles import Role
    from tests.factories import MembershipFactory

    MembershipFactory(
        user=world.stats_unblind, trial=world.trial, site=world.buc, role=Role.OUTCOME_ASSESSOR
    )
    with pytest.raises(NotPermitted):
        export(world, world.stats_unblind, blinded=False, interim=True)


def test_an_interim_snapshot_of_a_population_or_an_unknown_population_is_refused(world):
    before = written()
    with pytest.raises(TrialError) as refused:
        export(world, blinded=True, interim=True, population="primary_outcome")
    assert refused.value.field == "population"
    with pytest.raises(TrialError) as refused:
        export(world, blinded=True, population="no_such")
    assert refused.value.field == "population"
    assert written() == before


def test_a_population_lock_exports_that_populations_forms_only(world):
    ready_family(world)
    lock(world, population="primary_outcome")
    made = export(world, blinded=True, population="primary_outcome")
    manifest = json.loads(bundle(made).read("MANIFEST.json"))
    assert [f["form"] for f in manifest["forms"]] == ["legal_status", "primary_outcome"]
    assert manifest["bundle_id"] == f"{world.trial.code}-blinded-primary_outcome-lock1"
    assert manifest["lock"]["population"] == "primary_outcome"


def test_a_job_whose_lock_was_released_before_it_ran_fails_and_says_so(world):
    ready_family(world)
    locked = lock(world)
    asked = export_request(
        trial=world.trial,
        actor=world.stats_blind,
        channel=Channel.WEB,
        blinded=True,
        interim=False,
        enqueue=False,
    )
    lock_unlock_request(lock=locked, actor=world.manager, channel=Channel.WEB, reason="Fix.")
    lock_unlock_approve(lock=locked, actor=world.stats_blind, channel=Channel.WEB)
    done = export_build(asked.pk)
    assert done.status == Export.Status.FAILED and "unlocked" in done.error
    assert not done.file_name
    failed = AuditEvent.objects.get(event_type=EventType.EXPORT_FAILED)
    assert failed.object_id == str(asked.pk) and "unlocked" in failed.reason


def test_the_job_reports_its_steps_and_is_built_once(world):
    ready_family(world)
    made = export(world, blinded=True, interim=True)
    assert made.status == Export.Status.DONE and made.percent == 100
    assert made.done_steps == made.total_steps > 5
    again = export_build(made.pk)  # a job delivered twice
    assert again.sha256 == made.sha256
    assert (
        AuditEvent.objects.filter(event_type=EventType.EXPORT_BUILT, object_id=str(made.pk)).count()
        == 1
    )
    with zipfile.ZipFile(Path(settings.EXPORT_ROOT) / made.file_name) as zf:
        assert zf.testzip() is None


def test_a_download_is_recorded_and_refused_until_the_bundle_is_ready(world):
    asked = export_request(
        trial=world.trial,
        actor=world.stats_blind,
        channel=Channel.WEB,
        blinded=True,
        interim=True,
        enqueue=False,
    )
    before = AuditEvent.objects.count()
    with pytest.raises(Conflict):
        export_download(export=asked, actor=world.stats_blind, channel=Channel.WEB)
    assert AuditEvent.objects.count() == before
    built = export_build(asked.pk)
    path = export_download(export=built, actor=world.stats_blind, channel=Channel.WEB)
    assert path.is_file()
    event = AuditEvent.objects.latest("seq")
    assert event.event_type == EventType.EXPORT_DOWNLOADED
    assert event.changes["sha256"][1] == built.sha256 and event.actor_username == "stats.blind"

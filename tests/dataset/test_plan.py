"""The statistical analysis plan: recorded by a statistician with its document's SHA-256;
refused, writing nothing, for anyone else or for a malformed record."""

import hashlib

import pytest

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from dataset.models import AnalysisPlan
from dataset.services import analysis_plan_record

pytestmark = pytest.mark.django_db
DOCUMENT = hashlib.sha256(b"ReConnect SAP v1.0").hexdigest()


def record(world, who=None, **changes):
    fields = {"title": "ReConnect SAP", "version": "1.0", "sha256": DOCUMENT, "final": True}
    fields.update(changes)
    return analysis_plan_record(
        trial=world.trial, actor=who or world.stats_unblind, channel=Channel.WEB, **fields
    )


def test_a_statistician_records_the_plan_and_the_ledger_keeps_its_digest(world):
    plan = record(world, sha256=DOCUMENT.upper())
    assert (plan.version, plan.final, plan.sha256) == ("1.0", True, DOCUMENT)
    event = AuditEvent.objects.get(event_type=EventType.ANALYSIS_PLAN_RECORDED)
    assert event.changes["sha256"] == [None, DOCUMENT] and event.actor_username == "stats.unblind"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": " "}, "title"),
        ({"version": ""}, "version"),
        ({"sha256": "abc"}, "sha256"),
        ({"sha256": "g" * 64}, "sha256"),
    ],
)
def test_a_malformed_plan_is_refused_naming_the_field(world, changes, field):
    with pytest.raises(TrialError) as refused:
        record(world, **changes)
    assert refused.value.field == field and not AnalysisPlan.objects.exists()


def test_only_a_statistician_records_a_plan_and_each_version_once(world):
    for who in (world.manager, world.coord_buc, world.monitor_buc, world.pi_buc):
        with pytest.raises(NotPermitted):
            record(world, who)
    record(world, world.stats_blind)
    with pytest.raises(Conflict):
        record(world, sha256=hashlib.sha256(b"other").hexdigest())
    assert AnalysisPlan.objects.count() == 1

"""The lock: refused while the readiness report lists anything and without the
statistician's password; once locked, every change to the held data is refused (services
and SQL); an unlock needs a statistician and the trial manager; a re-lock is a new
version. A population's lock holds its forms only."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.events import EventType
from audit.models import AuditEvent, ChainHead
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from crf.entry import form_not_done, response_update, response_verify
from crf.models import Response
from crf.queries import query_close, query_raise
from crf.signatures import casebook_sign
from dataset.readiness import lock_readiness
from dataset.services import data_lock, lock_unlock_approve, lock_unlock_request
from lock.models import DataLock
from tests.access import another_answer
from tests.crf.conftest import enter, randomised
from tests.factories import PASSWORD, MembershipFactory, UserFactory

from .conftest import ready_family

pytestmark = pytest.mark.django_db


def lock(world, who=None, **kwargs):
    return data_lock(
        trial=world.trial,
        actor=who or world.stats_blind,
        channel=Channel.WEB,
        password=PASSWORD,
        **kwargs,
    )


def change(response, world, **values):
    return response_update(
        response=response,
        values=values,
        actor=world.coord_buc,
        channel=Channel.WEB,
        reason="Corrected from the paper form.",
        replace=False,
    )


def test_the_readiness_report_names_each_kind_of_blocker_with_a_link(world):
    family = randomised(world, days_ago=400)  # 6- and 12-month windows have opened
    core10 = family.responses.get(visit="baseline", form="core10")
    query_raise(
        response=core10,
        field="item_3",
        text="Check.",
        actor=world.monitor_buc,
        channel=Channel.WEB,
    )
    enter(world, family, "sae", "", outcome="ongoing")
    report = lock_readiness(world.trial)
    kinds = {b.kind for b in report.blockers}
    assert kinds == {"open_query", "not_verified", "not_signed", "not_complete", "safety_open"}
    assert not report.ready
    query = next(b for b in report.blockers if b.kind == "open_query")
    assert query.url == f"/families/{family.pk}/responses/{core10.pk}/"
    assert query.family == family.identifier and query.site == "BUC"
    due = [b for b in report.blockers if b.kind == "not_complete"]
    # Linked to the casebook at the visit: the report's readers enter no forms.
    core10_due = f"{world.trial.forms.get(form='core10').title} at 6 months is not complete"
    assert any(
        b.what == core10_due and b.url == f"/families/{family.pk}/casebook/#visit-month_6"
        for b in due
    )
    assert [b.what.split(": ")[-1] for b in report.blockers if b.kind == "safety_open"] == [
        "outcome is ongoing"
    ]


def test_a_blinded_statistician_sees_blockers_on_arm_revealing_forms_only_as_a_count(world):
    randomised(world, days_ago=200)  # intervention receipt and service use are due
    full = lock_readiness(world.trial)
    shown = lock_readiness(world.trial, viewer=world.stats_blind)
    titles = tuple(d.title for d in world.trial.forms.filter(reveals_arm=True))
    revealing = [b for b in full.blockers if b.what.startswith(titles)]
    assert revealing, "the family has arm-revealing forms due"
    assert shown.concealed == len(revealing) and shown.total == full.total
    assert not [b for b in shown.blockers if b.what.startswith(titles)]
    assert lock_readiness(world.trial, viewer=world.stats_unblind).concealed == 0


def test_a_lock_is_refused_while_anything_blocks_it_and_writes_nothing(world):
    randomised(world)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as refused:
        lock(world)
    assert refused.value.field == "readiness" and "block the lock" in refused.value.message
    assert not DataLock.objects.exists() and AuditEvent.objects.count() == events


@pytest.mark.requirement("AUD-5")
def test_a_lock_needs_a_statistician_and_their_password(world):
    ready_family(world)
    for who in (world.manager, world.coord_buc, world.monitor_buc, world.pi_buc):
        with pytest.raises(NotPermitted):
            lock(world, who)
    with pytest.raises(TrialError) as refused:
        data_lock(trial=world.trial, actor=world.stats_blind, channel=Channel.WEB, password="no")
    assert refused.value.field == "password"
    assert AuditEvent.objects.filter(event_type=EventType.LOCK_REFUSED).count() == 1
    assert not DataLock.objects.exists()


@pytest.mark.requirement("LCK-1", "AUD-5")
def test_locked_data_refuse_every_change_by_service_and_by_sql(world):
    family = ready_family(world)
    core10 = family.responses.get(visit="baseline", form="core10")
    query = query_raise(
        response=core10,
        field="item_3",
        text="Check.",
        actor=world.monitor_buc,
        channel=Channel.WEB,
    )
    query_close(query=query, actor=world.monitor_buc, channel=Channel.WEB, text="Checked.")
    locked = lock(world)
    head = ChainHead.objects.get(pk=1)
    assert (locked.version, locked.population, locked.forms) == (1, "", [])
    event = AuditEvent.objects.get(event_type=EventType.DATA_LOCKED)
    assert (locked.ledger_seq, locked.ledger_head) == (event.seq, event.hash)
    assert head.last_seq == event.seq
    before = Response.objects.count(), AuditEvent.objects.count()
    for attempt in (
        lambda: change(core10, world, item_1=another_answer(core10, "item_1")),
        lambda: enter(world, family, "sae", ""),
        lambda: form_not_done(
            family=family,
            form="psoc",
            visit="month_6",
            reason="Missed.",
            actor=world.coord_buc,
            channel=Channel.WEB,
        ),
        lambda: query_raise(
            response=core10,
            field="item_3",
            text="?",
            actor=world.monitor_buc,
            channel=Channel.WEB,
        ),
        lambda: casebook_sign(
            family=family,
            actor=world.pi_buc,
            password=PASSWORD,
            meaning="reviewed",
            channel=Channel.WEB,
        ),
    ):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert "locked (lock v1 of RC, by stats.blind" in refused.value.message
    assert (Response.objects.count(), AuditEvent.objects.count()) == before
    for sql in (
        "UPDATE crf_response SET values = '{}' WHERE id = %s",
        "DELETE FROM crf_signature WHERE family_id = %s",
        "UPDATE crf_query SET status = 'open' WHERE family_id = %s",
    ):
        target = core10.pk if "crf_response" in sql else family.pk
        with pytest.raises(DatabaseError, match="held") as refused, transaction.atomic():
            connection.cursor().execute(sql.replace("values", '"values"'), [target])
        if connection.vendor == "postgresql":  # SQLite's RAISE takes a fixed message only
            assert "held (lock v1)" in str(refused.value)


@pytest.mark.requirement("LCK-1")
def test_a_population_lock_holds_its_forms_only(world):
    family = ready_family(world)
    locked = lock(world, population="primary_outcome")
    assert locked.forms == ["legal_status", "primary_outcome"]
    legal = family.responses.get(visit="baseline", form="legal_status")
    core10 = family.responses.get(visit="baseline", form="core10")
    with pytest.raises(Conflict, match=r"lock v1 of RC \(primary_outcome\)"):
        change(legal, world, completed_on=legal.values.get("completed_on"))
    change(core10, world, item_1=another_answer(core10, "item_1"))  # not a form of the population
    with pytest.raises(TrialError) as refused:
        lock(world, population="secondary")
    assert refused.value.field == "population"


@pytest.mark.requirement("AUD-5")
def test_an_unlock_needs_a_statistician_and_the_trial_manager_and_a_relock_is_version_2(world):
    family = ready_family(world)
    locked = lock(world)
    with pytest.raises(TrialError):
        lock_unlock_request(lock=locked, actor=world.stats_blind, channel=Channel.WEB, reason="")
    with pytest.raises(NotPermitted):
        lock_unlock_request(lock=locked, actor=world.coord_buc, channel=Channel.WEB, reason="x")
    lock_unlock_request(
        lock=locked,
        actor=world.stats_blind,
        channel=Channel.WEB,
        reason="A transcription error found after the lock.",
    )
    with pytest.raises(NotPermitted, match="two different people"):
        lock_unlock_approve(lock=locked, actor=world.stats_blind, channel=Channel.WEB)
    with pytest.raises(NotPermitted, match="a statistician and the trial manager"):
        lock_unlock_approve(lock=locked, actor=world.stats_unblind, channel=Channel.WEB)
    assert DataLock.objects.get(pk=locked.pk).is_open
    lock_unlock_approve(lock=locked, actor=world.manager, channel=Channel.WEB)
    unlocked = AuditEvent.objects.get(event_type=EventType.DATA_UNLOCKED)
    assert unlocked.reason == "A transcription error found after the lock."
    assert unlocked.changes["asked_by"] == [None, "stats.blind"]
    core10 = family.responses.get(visit="baseline", form="core10")
    change(core10, world, item_1=another_answer(core10, "item_1"))  # open again
    # The change invalidated the signature and cleared the verification: sign and verify
    # again before the second lock.
    ready_family_again(world, family)
    assert lock(world).version == 2


def ready_family_again(world, family):
    for response in family.responses.filter(status="complete"):
        response_verify(response=response, actor=world.monitor_buc, channel=Channel.COMMAND)
    casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="approved",
        channel=Channel.COMMAND,
    )


def test_the_manager_may_ask_and_a_statistician_confirm(world):
    ready_family(world)
    locked = lock(world, world.stats_unblind)
    lock_unlock_request(lock=locked, actor=world.manager, channel=Channel.API, reason="Audit.")
    with pytest.raises(Conflict):
        lock_unlock_request(lock=locked, actor=world.stats_blind, channel=Channel.API, reason="x")
    second = UserFactory(username="manager.two")
    MembershipFactory(
        user=second, trial=world.trial, site=None, role="trial_manager", starts_on=world.start
    )
    with pytest.raises(NotPermitted):
        lock_unlock_approve(lock=locked, actor=second, channel=Channel.API)
    lock_unlock_approve(lock=locked, actor=world.stats_blind, channel=Channel.API)
    with pytest.raises(Conflict):
        lock_unlock_approve(lock=locked, actor=world.manager, channel=Channel.API)

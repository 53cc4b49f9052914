"""Frozen data refuse every change to their forms, through the services and through SQL,
until the trial manager releases the freeze with a reason. Queries and signatures stay
open on frozen data; each refusal writes nothing."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import Role
from crf.entry import response_update, response_verify
from crf.models import Response
from crf.queries import query_raise
from dataset.services import data_freeze, freeze_release
from lock.models import Freeze
from tests.crf.conftest import enter, randomised
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def written() -> tuple[int, int, int]:
    return (
        Response.objects.count(),
        AuditEvent.objects.count(),
        Response.history.count(),
    )


def freeze(world, reason="Data cleaning before the interim report.", **target):
    return data_freeze(actor=world.manager, channel=Channel.WEB, reason=reason, **target)


@pytest.mark.requirement("LCK-1")
def test_a_frozen_site_refuses_new_forms_and_changes_naming_the_freeze(world):
    family = randomised(world)
    core10 = family.responses.get(visit="baseline", form="core10")
    frozen = freeze(world, site=world.buc)
    before = written()
    with pytest.raises(Conflict) as refused:
        enter(world, family, "sae", "")
    assert refused.value.field == "lock"
    assert "frozen (site BUC, by manager" in refused.value.message
    with pytest.raises(Conflict):
        response_update(
            response=core10,
            values={"item_1": 3},
            actor=world.coord_buc,
            channel=Channel.WEB,
            reason="Typo",
            replace=False,
        )
    assert written() == before
    assert AuditEvent.objects.filter(event_type=EventType.DATA_FROZEN, object_id=str(frozen.pk))


def test_a_frozen_casebook_holds_that_family_only(world):
    held, other = randomised(world, "BUC"), randomised(world, "OXF")
    freeze(world, family=held)
    with pytest.raises(Conflict, match="the casebook of"):
        enter(world, held, "sae", "")
    enter(world, other, "sae", "")  # another family's forms are not held


@pytest.mark.requirement("LCK-1")
def test_a_frozen_form_refuses_change_and_verification_but_not_a_query(world):
    family = randomised(world)
    core10 = family.responses.get(visit="baseline", form="core10")
    psoc = family.responses.get(visit="baseline", form="psoc")
    freeze(world, response=core10)
    with pytest.raises(Conflict):
        response_verify(response=core10, actor=world.monitor_buc, channel=Channel.WEB)
    query = query_raise(
        response=core10,
        field="item_3",
        text="Check item 3.",
        actor=world.monitor_buc,
        channel=Channel.WEB,
    )
    assert query.status == "open"
    response_verify(response=psoc, actor=world.monitor_buc, channel=Channel.WEB)


@pytest.mark.requirement("LCK-1")
def test_sql_that_skips_the_services_is_refused_by_the_database(world):
    family = randomised(world)
    core10 = family.responses.get(visit="baseline", form="core10")
    freeze(world, response=core10)
    for attempt in (
        lambda: Response.objects.filter(pk=core10.pk).update(values={"item_1": 9}),
        lambda: connection.cursor().execute(
            "UPDATE crf_response SET status = 'verified' WHERE id = %s", [core10.pk]
        ),
        lambda: connection.cursor().execute("DELETE FROM crf_response WHERE id = %s", [core10.pk]),
    ):
        with pytest.raises(DatabaseError, match="held"), transaction.atomic():
            attempt()
    kept = Response.objects.get(pk=core10.pk)
    assert (kept.status, kept.values, kept.revision) == (
        core10.status,
        core10.values,
        core10.revision,
    )
    # Other forms of the family are not held by a freeze of one form.
    other = family.responses.get(visit="baseline", form="psoc")
    assert Response.objects.filter(pk=other.pk).update(revision=other.revision) == 1


def test_only_the_trial_manager_freezes_and_each_freeze_needs_a_reason(world):
    family = randomised(world)
    for who in (world.coord_buc, world.stats_unblind, world.monitor_buc, world.pi_buc):
        with pytest.raises(NotPermitted):
            data_freeze(actor=who, channel=Channel.API, reason="x", family=family)
    with pytest.raises(TrialError) as refused:
        freeze(world, reason="  ", family=family)
    assert refused.value.field == "reason"
    with pytest.raises(TrialError) as refused:
        data_freeze(
            actor=world.manager, channel=Channel.API, reason="x", site=world.buc, family=family
        )
    assert refused.value.field == "scope"
    assert not Freeze.objects.exists()


def test_a_released_freeze_lets_the_change_through_and_is_recorded(world):
    family = randomised(world)
    frozen = freeze(world, family=family)
    with pytest.raises(Conflict):
        freeze(world, family=family)  # once is enough
    with pytest.raises(TrialError):
        freeze_release(freeze=frozen, actor=world.manager, channel=Channel.WEB, reason="")
    with pytest.raises(NotPermitted):
        freeze_release(freeze=frozen, actor=world.stats_blind, channel=Channel.WEB, reason="x")
    freeze_release(freeze=frozen, actor=world.manager, channel=Channel.WEB, reason="Cleaning done.")
    enter(world, family, "sae", "")
    released = AuditEvent.objects.get(event_type=EventType.FREEZE_RELEASED)
    assert released.reason == "Cleaning done." and released.actor_username == "manager"
    with pytest.raises(Conflict):
        freeze_release(freeze=frozen, actor=world.manager, channel=Channel.WEB, reason="again")


def test_the_admin_lists_no_freeze_of_an_arm_revealing_form_for_a_blinded_manager(world, page):
    family = randomised(world, days_ago=190)
    receipt = enter(world, family, "intervention_receipt", "month_6")
    core10 = family.responses.get(visit="baseline", form="core10")
    freeze(world, response=receipt)
    freeze(world, response=core10)
    client = page(world.manager)
    shown = client.get("/admin/lock/freeze/").content.decode()
    assert "intervention_receipt" in shown and "core10" in shown
    MembershipFactory(
        user=world.manager,
        trial=world.trial,
        site=world.buc,
        role=Role.OUTCOME_ASSESSOR,
        starts_on=world.start,
    )
    shown = client.get("/admin/lock/freeze/").content.decode()
    assert "intervention_receipt" not in shown and "core10" in shown

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from randomisation.models import Allocation, Slot
from randomisation.services import (
    factor_correct,
    family_randomise,
    randomisation_go_live,
    sequence_generate,
)
from sites.lifecycle import site_move_status
from sites.memberships import delegation_end
from trial.consents import consent_version_activate, consent_version_create
from trial.enrolment import withdrawal_record

from ..access import family_at, open_screening
from ..trial.conftest import consent, enrol
from .conftest import sealed_list


def randomise(world, family, actor=None):
    return family_randomise(family=family, actor=actor or world.coord_buc, channel=Channel.API)


def another_family(world, code="BUC"):
    from ..access import consent_v1

    coordinator = {"BUC": world.coord_buc, "OXF": world.coord_oxf}[code]
    return enrol(
        world,
        consent_v1(world),
        screening=open_screening(world, code),
        actor=coordinator,
        consents=[(1, consent(world, consent_v1(world), taken_by=coordinator))],
    )


@pytest.mark.requirement("RND-1", "AUD-5")
def test_generation_makes_a_list_per_stratum_and_sealing_records_the_digests(world, test_list):
    # BUC, OXF and MKN (not closed) x two legal statuses x two age bands.
    assert test_list.strata.count() == 12 and Slot.objects.count() == 12 * 20
    sealed = AuditEvent.objects.get(event_type="sequence_sealed")
    assert sealed.changes["list_sha256"][1] == test_list.list_sha256
    assert sealed.changes["seed_sha256"][1] == test_list.seed_sha256
    assert str(test_list.seed) not in str(AuditEvent.objects.values_list("changes", flat=True))


@pytest.mark.requirement("AUD-5", "RND-2")
def test_a_family_takes_the_first_slot_of_its_stratum(
    world, test_list, django_capture_on_commit_callbacks
):
    family = family_at(world, "BUC")
    with django_capture_on_commit_callbacks(execute=True):
        allocation = randomise(world, family)
    assert allocation.factor_values == {
        "site": "BUC",
        "legal_status": "cp_plan",
        "age_band": "under_6m",
    }
    assert allocation.slot.position == 1 and allocation.arm == allocation.slot.arm
    assert allocation.mode == "test"
    event = AuditEvent.objects.get(event_type="randomised")
    assert event.family == family.identifier and event.changes["arm"][1] == allocation.arm
    assert sorted(m.to for m in mail.outbox) == [  # one email per recipient
        ["coord.buc@example.test"],
        ["manager@example.test"],
    ]
    assert "TEST MODE" in mail.outbox[0].subject


@pytest.mark.requirement("RND-1")
def test_randomising_twice_returns_the_same_allocation_and_consumes_nothing(world, test_list):
    family = family_at(world, "BUC")
    first = randomise(world, family)
    events = AuditEvent.objects.count()
    assert randomise(world, family) == first
    assert Allocation.objects.count() == 1 and AuditEvent.objects.count() == events


@pytest.mark.requirement("RND-1")
def test_slots_are_taken_in_order_within_a_stratum(world, test_list):
    positions = [randomise(world, another_family(world)).slot.position for _ in range(4)]
    assert positions == [1, 2, 3, 4]


def refused(world, family, field):
    before = (Allocation.objects.count(), AuditEvent.objects.count())
    with pytest.raises(TrialError) as error:
        randomise(world, family)
    assert (Allocation.objects.count(), AuditEvent.objects.count()) == before
    if field:
        assert error.value.field == field
    return error.value


def test_a_family_due_to_reconsent_is_refused(world, test_list):
    family = family_at(world, "BUC")
    v2 = consent_version_create(
        trial=world.trial,
        actor=world.manager,
        channel="api",
        version="2.0",
        ethics_approval_date=today() - timedelta(5),
        items=["take_part"],
        reconsent_required=True,
    )
    consent_version_activate(
        version=v2, site=world.buc, effective_from=today(), actor=world.manager, channel="api"
    )
    assert "re-consent" in refused(world, family, "consent").message


def test_a_withdrawn_family_is_refused(world, test_list):
    family = family_at(world, "BUC")
    withdrawal_record(
        family=family,
        actor=world.coord_buc,
        channel="api",
        level="intervention",
        withdrawal_date=family.enrolled_on,
        reason="changed mind",
    )
    assert "withdrawn" in refused(world, family, "family").message


def test_a_site_that_is_not_active_cannot_randomise(world, test_list):
    family = family_at(world, "BUC")
    site_move_status(
        site=world.buc, actor=world.manager, channel="api", to_status="closed_to_recruitment"
    )
    family.site.refresh_from_db()
    assert "BUC is closed to recruitment" in refused(world, family, "site").message


def test_a_missing_factor_is_named(world, test_list):
    family = family_at(world, "BUC")
    type(family).objects.filter(pk=family.pk).update(legal_status="")
    family.refresh_from_db()
    refused(world, family, "legal_status")


@pytest.mark.requirement("AUD-5")
def test_an_exhausted_stratum_refuses_and_alerts_the_unblinded_statistician(
    world, django_capture_on_commit_callbacks
):
    sealed_list(world, length=1)
    randomise(world, another_family(world))
    family = another_family(world)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict) as error:
        randomise(world, family)
    assert error.value.field == "stratum" and "Nothing was allocated" in error.value.message
    assert not Allocation.objects.filter(family=family).exists()
    event = AuditEvent.objects.get(event_type="stratum_exhausted")
    assert event.family == family.identifier
    assert [m.to for m in mail.outbox if "EXHAUSTED" in m.subject] == [
        ["stats.unblind@example.test"]
    ]


def test_randomising_needs_the_randomise_duty(world, test_list):
    duty = world.memberships[("coord.buc", "BUC")].delegations.get(duty="randomise")
    delegation_end(
        delegation=duty,
        actor=world.manager,
        channel=Channel.WEB,
        ends_on=today() - timedelta(days=1),
    )
    with pytest.raises(NotPermitted):
        randomise(world, family_at(world, "BUC"))


def test_an_unsealed_list_allocates_nothing(world):
    sequence_generate(
        trial=world.trial, actor=world.stats_unblind, channel="api", mode="test", length=5
    )
    assert "no sealed test list" in refused(world, family_at(world, "BUC"), "stratum").message


@pytest.mark.parametrize("who", ["manager", "coord_buc", "stats_blind", "monitor_buc"])
@pytest.mark.requirement("RND-1")
def test_only_the_unblinded_statistician_generates_lists(world, who):
    with pytest.raises(NotPermitted):
        sequence_generate(
            trial=world.trial, actor=getattr(world, who), channel="api", mode="test", length=5
        )


@pytest.mark.requirement("RND-2")
def test_a_stratum_gets_one_list_per_mode(world, test_list):
    with pytest.raises(Conflict):
        sealed_list(world)


@pytest.mark.requirement("RND-2")
def test_going_live_switches_lists_and_keeps_test_allocations(world, test_list):
    family = family_at(world, "BUC")
    test_allocation = randomise(world, family)
    with pytest.raises(TrialError):
        randomisation_go_live(trial=world.trial, actor=world.stats_unblind, channel="api")
    sealed_list(world, mode="live")
    randomisation_go_live(trial=world.trial, actor=world.stats_unblind, channel="api")
    family.trial.refresh_from_db()
    live = randomise(world, family)
    assert (live.mode, test_allocation.mode) == ("live", "test") and live.pk != test_allocation.pk


@pytest.mark.requirement("RND-1")
def test_a_wrong_factor_is_corrected_with_a_deviation_and_the_allocation_stands(world, test_list):
    allocation = randomise(world, family_at(world, "BUC"))
    correction = factor_correct(
        allocation=allocation,
        factor="legal_status",
        correct_value="pre_proceedings",
        reason="PLO letter seen later",
        severity="minor",
        actor=world.coord_buc,
        channel="api",
    )
    allocation.refresh_from_db()
    assert allocation.factor_values["legal_status"] == "cp_plan"
    assert correction.deviation.kind == "stratification_error"
    assert AuditEvent.objects.filter(event_type="factor_corrected").count() == 1


def verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("randomisation_verify", stdout=out, stderr=err)
        return 0, out.getvalue()
    except SystemExit as exit_:
        return exit_.code, err.getvalue()


@pytest.mark.requirement("RND-1")
def test_verification_passes_and_catches_a_changed_slot(world, test_list):
    for _ in range(3):
        randomise(world, another_family(world))
    code, out = verify()
    assert code == 0 and "3 allocations" in out
    slot = Slot.objects.filter(stratum__key__startswith="site=OXF").order_by("position").first()
    other = "USUAL" if slot.arm == "RECONNECT" else "RECONNECT"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE randomisation_slot SET arm = %s WHERE id = %s", [other, slot.pk])
    code, err = verify()
    assert code == 1 and f"stratum {slot.stratum.key}: slot 1 differs" in err


@pytest.mark.requirement("RND-1")
def test_verification_catches_slots_taken_out_of_order(world, test_list):
    first = randomise(world, another_family(world))
    second = randomise(world, another_family(world))
    spare = Slot.objects.get(stratum=first.stratum, position=5)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE randomisation_allocation SET slot_id = %s WHERE id = %s", [spare.pk, second.pk]
        )
    code, err = verify()
    assert code == 1 and "allocation 2 took slot 5" in err

from datetime import timedelta

import pytest

from audit.events import EventType
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import Duty, Role
from sites.memberships import delegation_end, delegation_grant, membership_end, membership_grant
from sites.permissions import require_duty

from ..factories import UserFactory
from ..helpers import last_event, writes_nothing

CH = Channel.WEB


def grant(world, **kw):
    return membership_grant(
        actor=kw.pop("actor", world.manager), channel=CH, trial=world.trial, **kw
    )


@pytest.mark.requirement("AUD-4")
def test_manager_grants_a_site_role_and_it_is_audited(world):
    user = UserFactory()
    membership = grant(world, user=user, role=Role.SITE_COORDINATOR, site=world.mkn)
    event = last_event()
    assert event.event_type == EventType.MEMBERSHIP_GRANTED and event.site_code == "MKN"
    assert event.changes["role"] == [None, "site_coordinator"]
    assert membership.history.first().history_user == world.manager


def test_a_site_role_needs_a_site(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        grant(world, user=UserFactory(), role=Role.SITE_COORDINATOR)
    assert refused.value.field == "site"


def test_a_trial_wide_role_takes_no_site(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        grant(world, user=UserFactory(), role=Role.STATISTICIAN_BLINDED, site=world.buc)
    assert refused.value.field == "site"


def test_the_same_open_role_cannot_be_granted_twice(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        grant(world, user=world.coord_buc, role=Role.SITE_COORDINATOR, site=world.buc)
    assert refused.value.field == "role"


def test_an_unknown_role_is_refused(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        grant(world, user=UserFactory(), role="janitor", site=world.buc)
    assert refused.value.field == "role"


@pytest.mark.requirement("ACC-1")
def test_a_coordinator_cannot_grant_roles(world):
    with writes_nothing(), pytest.raises(NotPermitted):
        grant(
            world,
            actor=world.coord_buc,
            user=UserFactory(),
            role=Role.SITE_COORDINATOR,
            site=world.buc,
        )


def test_ending_a_role_ends_its_duties_the_same_day(world):
    membership = world.memberships[("coord.buc", "BUC")]
    membership_end(membership=membership, actor=world.manager, channel=CH, reason="left the team")
    assert set(membership.delegations.values_list("ends_on", flat=True)) == {today()}
    with pytest.raises(NotPermitted):
        require_duty(
            world.coord_buc, site=world.buc, duty=Duty.RANDOMISE, on=today() + timedelta(1)
        )
    # The log still answers for acts before the end.
    assert require_duty(world.coord_buc, site=world.buc, duty=Duty.RANDOMISE, on=today())


def test_a_role_cannot_end_twice_or_before_it_began(world):
    membership = world.memberships[("coord.buc", "BUC")]
    with writes_nothing(), pytest.raises(TrialError) as refused:
        membership_end(
            membership=membership,
            actor=world.manager,
            channel=CH,
            ends_on=membership.starts_on - timedelta(days=1),
        )
    assert refused.value.field == "ends_on"
    membership_end(membership=membership, actor=world.manager, channel=CH)
    with writes_nothing(), pytest.raises(Conflict):
        membership_end(membership=membership, actor=world.manager, channel=CH)


def test_the_last_trial_manager_cannot_be_removed(world):
    with writes_nothing(), pytest.raises(Conflict) as refused:
        membership_end(
            membership=world.memberships[("manager", None)], actor=world.manager, channel=CH
        )
    assert "at least one trial manager" in refused.value.message


@pytest.mark.requirement("ACC-1")
def test_a_duty_is_checked_on_the_date_of_the_act(world):
    membership = grant(
        world,
        user=UserFactory(username="new.coord"),
        role=Role.SITE_COORDINATOR,
        site=world.buc,
        starts_on=today() - timedelta(days=10),
    )
    delegation = delegation_grant(
        membership=membership,
        duty=Duty.TAKE_CONSENT,
        actor=world.manager,
        channel=CH,
        starts_on=today() - timedelta(days=5),
    )
    user = membership.user
    with pytest.raises(NotPermitted) as refused:
        require_duty(user, site=world.buc, duty=Duty.TAKE_CONSENT, on=today() - timedelta(days=6))
    assert "Take consent" in refused.value.message and "BUC" in refused.value.message
    assert require_duty(
        user, site=world.buc, duty=Duty.TAKE_CONSENT, on=today() - timedelta(days=5)
    )
    delegation_end(
        delegation=delegation, actor=world.manager, channel=CH, ends_on=today() - timedelta(days=2)
    )
    assert require_duty(
        user, site=world.buc, duty=Duty.TAKE_CONSENT, on=today() - timedelta(days=2)
    )
    with pytest.raises(NotPermitted):
        require_duty(user, site=world.buc, duty=Duty.TAKE_CONSENT, on=today() - timedelta(days=1))


@pytest.mark.requirement("ACC-1")
def test_a_duty_at_one_site_does_not_cover_another(world):
    with pytest.raises(NotPermitted):
        require_duty(world.coord_buc, site=world.oxf, duty=Duty.RANDOMISE, on=today())


def test_a_duty_the_role_cannot_hold_is_refused(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        delegation_grant(
            membership=world.memberships[("monitor.buc", "BUC")],
            duty=Duty.RANDOMISE,
            actor=world.manager,
            channel=CH,
        )
    assert refused.value.field == "duty" and "monitor" in refused.value.message


def test_the_sites_pi_may_delegate_but_not_at_another_site(world):
    membership = world.memberships[("assessor.buc", "BUC")]
    delegation_end(delegation=membership.delegations.get(), actor=world.pi_buc, channel=CH)
    assert (
        delegation_grant(
            membership=membership, duty=Duty.ENTER_DATA, actor=world.pi_buc, channel=CH
        ).granted_by
        == world.pi_buc
    )
    with writes_nothing(), pytest.raises(NotPermitted):
        delegation_grant(
            membership=world.memberships[("coord.oxf", "OXF")],
            duty=Duty.ENTER_DATA,
            actor=world.pi_buc,
            channel=CH,
        )


def test_a_duty_cannot_start_before_its_role(world):
    membership = world.memberships[("monitor.buc", "BUC")]
    coord = world.memberships[("coord.buc", "BUC")]
    delegation_end(
        delegation=coord.delegations.get(duty=Duty.ENTER_DATA), actor=world.manager, channel=CH
    )
    with writes_nothing(), pytest.raises(TrialError) as refused:
        delegation_grant(
            membership=coord,
            duty=Duty.ENTER_DATA,
            actor=world.manager,
            channel=CH,
            starts_on=coord.starts_on - timedelta(days=1),
        )
    assert refused.value.field == "starts_on"
    assert membership.delegations.count() == 0

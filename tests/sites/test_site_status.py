from datetime import timedelta

import pytest
from django.core import mail

from audit.events import EventType
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import Role
from sites.lifecycle import site_move_status, site_update
from sites.memberships import membership_grant
from sites.models import Notification, SiteStatus

from ..factories import UserFactory
from ..helpers import last_event, writes_nothing


def move(world, site, to, actor=None, **kw):
    return site_move_status(
        site=site, actor=actor or world.manager, channel=Channel.WEB, to_status=to, **kw
    )


def approve(world, site):
    return move(
        world,
        site,
        "approved",
        ethics_approval_date=today() - timedelta(days=20),
        rnd_approval_date=today() - timedelta(days=10),
    )


def with_pi(world, site):
    pi = UserFactory(username=f"pi.{site.code.lower()}")
    membership_grant(
        actor=world.manager,
        channel=Channel.WEB,
        user=pi,
        trial=world.trial,
        role=Role.PRINCIPAL_INVESTIGATOR,
        site=site,
    )
    return site_update(
        site=site,
        actor=world.manager,
        channel=Channel.WEB,
        principal_investigator=pi,
        reason="PI appointed by the sponsor",
    )


def test_a_site_walks_every_step_and_each_is_dated_and_audited(
    world, django_capture_on_commit_callbacks
):
    site = approve(world, world.mkn)
    assert site.status == SiteStatus.APPROVED
    site = with_pi(world, site)
    with django_capture_on_commit_callbacks(execute=True):
        site = move(world, site, "active", effective_date=today() - timedelta(days=1))
    assert site.can_recruit
    site = move(world, site, "closed_to_recruitment", note="target reached")
    site = move(world, site, "closed")
    steps = list(site.status_steps.values_list("from_status", "to_status"))
    assert steps == [
        ("proposed", "approved"),
        ("approved", "active"),
        ("active", "closed_to_recruitment"),
        ("closed_to_recruitment", "closed"),
    ]
    assert site.status_steps.get(to_status="active").effective_date == today() - timedelta(days=1)
    event = last_event()
    assert event.event_type == EventType.SITE_STATUS
    assert event.changes["status"] == ["closed_to_recruitment", "closed"]


def test_approval_needs_both_dates(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        move(world, world.mkn, "approved", ethics_approval_date=today())
    assert refused.value.field == "rnd_approval_date"
    with writes_nothing(), pytest.raises(TrialError) as refused:
        move(world, world.mkn, "approved", rnd_approval_date=today())
    assert refused.value.field == "ethics_approval_date"


def test_approval_dates_cannot_be_in_the_future(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        move(
            world,
            world.mkn,
            "approved",
            ethics_approval_date=today() + timedelta(days=1),
            rnd_approval_date=today(),
        )
    assert refused.value.field == "ethics_approval_date" and "future" in refused.value.message


def test_activating_without_a_principal_investigator_is_refused(world):
    site = approve(world, world.mkn)
    with writes_nothing(), pytest.raises(TrialError) as refused:
        move(world, site, "active")
    assert refused.value.field == "principal_investigator"
    assert "principal investigator" in refused.value.message
    assert not site.can_recruit


@pytest.mark.parametrize("to", ["active", "closed_to_recruitment", "closed", "proposed"])
def test_a_site_cannot_skip_or_reverse_a_step(world, to):
    with writes_nothing(), pytest.raises(Conflict) as refused:
        move(world, world.mkn, to)
    assert refused.value.field == "status" and "next step is approved" in refused.value.message


def test_an_unknown_status_is_refused(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        move(world, world.mkn, "paused")
    assert refused.value.field == "status"


@pytest.mark.parametrize("who", ["coord_buc", "pi_buc", "monitor_buc", "stats_unblind", "chief"])
def test_only_the_trial_manager_moves_a_site(world, who):
    with writes_nothing(), pytest.raises(NotPermitted):
        move(world, world.buc, "closed_to_recruitment", actor=getattr(world, who))


def test_activation_emails_the_trial_managers_after_commit(
    world, django_capture_on_commit_callbacks
):
    site = with_pi(world, approve(world, world.mkn))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        move(world, site, "active")
    assert mail.outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # the task, run in-process; it sends on its own commit
    assert [m.to for m in mail.outbox] == [[world.manager.email]]
    assert "MKN is active" in mail.outbox[0].subject
    note = Notification.objects.get()
    assert note.history.first().history_user == world.manager
    assert last_event().channel == Channel.TASK

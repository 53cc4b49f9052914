"""The activation email through a real Celery worker and the Redis broker."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from audit.models import AuditEvent
from config.celery import app
from core.channels import Channel
from core.clock import today
from core.roles import Role
from sites.lifecycle import site_move_status, site_update
from sites.memberships import membership_grant
from sites.models import Notification

# One worker and one broker queue: the two tests run one after the other on one xdist worker.
pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-broker"),
]


@pytest.fixture
def worker():
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.control.purge()  # nothing left over from an earlier run
    with start_worker(
        app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING"
    ):
        yield
    app.conf.task_always_eager = eager


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)


def test_activation_is_emailed_by_a_worker_after_commit(world, worker):
    manager = world.manager
    site = site_move_status(
        site=world.mkn,
        actor=manager,
        channel=Channel.WEB,
        to_status="approved",
        ethics_approval_date=today() - timedelta(9),
        rnd_approval_date=today() - timedelta(5),
    )
    membership_grant(
        actor=manager,
        channel=Channel.WEB,
        user=world.pi_oxf,
        trial=world.trial,
        role=Role.PRINCIPAL_INVESTIGATOR,
        site=site,
    )
    site_update(
        site=site,
        actor=manager,
        channel=Channel.WEB,
        principal_investigator=world.pi_oxf,
        reason="PI appointed",
    )
    site_move_status(site=site, actor=manager, channel=Channel.WEB, to_status="active")

    wait_for(lambda: Notification.objects.exists())
    note = Notification.objects.get()
    assert "MKN is active" in note.subject and note.recipient == manager.email
    assert note.history.first().history_user == manager
    event = AuditEvent.objects.get(event_type="notification_sent")
    assert (event.channel, event.actor_username) == ("task", "manager")
    wait_for(lambda: len(mail.outbox) == 1)
    assert [m.subject for m in mail.outbox] == [note.subject]


def test_the_overdue_reminder_and_a_risk_alert_run_on_a_worker(world, worker):
    from crf.models import Response
    from crf.tasks import remind_overdue
    from tests.crf.conftest import enter, randomised

    family = randomised(world, "OXF", days_ago=215)  # its 6-month forms are overdue
    from tests.crf.conftest import assessor_at

    enter(world, family, "core10", "month_6", actor=assessor_at(world, world.oxf), item_6=3)
    response = Response.objects.get(family=family, visit="month_6", form="core10")
    assert response.alerts == ["risk"]
    wait_for(lambda: any("ALERT" in m.subject for m in mail.outbox))
    remind_overdue.delay()
    wait_for(lambda: any("overdue" in m.subject for m in mail.outbox))
    subjects = [m.subject for m in mail.outbox]
    assert any("ALERT" in s and family.identifier in s for s in subjects)
    assert any("OXF: 8 overdue" in s for s in subjects)  # nine forms, CORE-10 now entered
    assert Notification.objects.filter(subject__contains="overdue").count() == 1

"""The activation email through a real Celery worker and the Redis broker."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from audit.events import Channel
from audit.models import AuditEvent
from config.celery import app
from sites.lifecycle import site_move_status, site_update
from sites.memberships import membership_grant
from sites.models import Notification
from sites.roles import Role
from sites.selectors import today

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


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

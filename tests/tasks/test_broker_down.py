"""The broker (Redis) down: writes through the API still answer 2xx and are saved, their tasks
wait in the outbox; once the broker is back the sweep publishes them, a real worker runs them,
and each notification is delivered once. A private redis-server plays the broker, so that it
can be stopped without touching the shared one."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from audit.events import EventType
from audit.models import AuditEvent
from audit.verification import verify_ledger
from outbox.services import outbox_sweep, pending
from randomisation.models import Allocation
from safety.models import SafetyEvent
from sites.models import Notification
from tests.access import family_at, sealed_test_list
from tests.crf.conftest import enter_baseline, load_forms, randomised
from tests.safety.test_safety_api import report_body

from .broker import PrivateRedis, celery_on, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-broker"),
    pytest.mark.requirement("FLT-2"),
]

TASKS = ["randomisation.tasks.notify_randomised", "safety.tasks.notify_sae_reported"]


@pytest.fixture
def broker(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def post(client, url, body=None):
    return client.post(url, body or {}, format="json")


def test_writes_succeed_with_the_broker_down_and_are_notified_once_it_is_back(world, api, broker):
    # Made before: one family randomised (for the safety report), one ready to be randomised.
    load_forms(world)
    reported_family = randomised(world, "BUC")
    waiting = family_at(world, "OXF")
    enter_baseline(world, waiting)
    sealed_test_list(world)
    Notification.objects.all().delete()  # the set-up's emails, not this test's
    mail.outbox.clear()
    notified = AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_SENT)
    recorded_before = notified.count()

    with celery_on(broker.url) as app:
        broker.stop()
        allocated = post(api(world.coord_oxf), f"/api/v1/families/{waiting.pk}/randomise/")
        assert allocated.status_code in (200, 201), allocated.content
        reported = post(
            api(world.coord_buc),
            f"/api/v1/families/{reported_family.pk}/safety-events/",
            report_body(),
        )
        assert reported.status_code == 201, reported.content

        # Saved, and the tasks wait for the broker.
        assert Allocation.objects.filter(family=waiting).exists()
        assert SafetyEvent.objects.filter(family=reported_family).count() == 1
        waiting_tasks = list(pending(TASKS).order_by("pk"))
        assert [m.task for m in waiting_tasks] == TASKS
        assert all(m.attempts == 1 and "OperationalError" in m.last_error for m in waiting_tasks)
        assert not Notification.objects.exists() and mail.outbox == []

        # The sweep with the broker still down: nothing taken, nothing raised, and the dead
        # broker cost well under a second (as it did each request's publish on commit).
        started = time.monotonic()
        assert outbox_sweep(older_than=timedelta(0)) == 0
        assert time.monotonic() - started < 1
        assert pending(TASKS).count() == 2
        # The first was tried again; the rest wait for a broker that takes the first.
        assert [m.attempts for m in pending(TASKS).order_by("pk")] == [2, 1]

        broker.start()
        assert outbox_sweep(older_than=timedelta(seconds=30)) == 0  # too young: left alone
        assert outbox_sweep(older_than=timedelta(0)) == 2
        assert not pending().exists()
        with start_worker(
            app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING"
        ):
            assert wait_for(lambda: all_told(waiting, reported_family), 60)
            time.sleep(1)  # anything more the worker would send, it would send now
        # A second sweep finds nothing to publish.
        assert outbox_sweep(older_than=timedelta(0)) == 0

    notes = list(Notification.objects.order_by("pk"))
    subjects = {n.subject for n in notes}
    assert any("randomised" in s and waiting.identifier in s for s in subjects)
    assert any("reported" in s and reported_family.identifier in s for s in subjects)
    # Each notification delivered once: one email each, to its recipient, its own Message-ID.
    sent = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert sent == sorted((n.recipient, n.subject) for n in notes)
    assert all(len(m.to) == 1 for m in mail.outbox)
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(set(ids)) == len(ids) == len(notes)
    assert notified.count() == recorded_before + len(notes)
    assert verify_ledger().intact


def all_told(*families) -> bool:
    """Every family named in a delivered notification, and none waiting."""
    notes = Notification.objects.all()
    subjects = " ".join(notes.values_list("subject", flat=True))
    return (
        all(f.identifier in subjects for f in families)
        and not notes.filter(delivered_at__isnull=True).exists()
    )

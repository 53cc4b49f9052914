"""The outbox and the emails by notification, in-process (eager tasks, as the demo runs): a
task queued with a change runs once it commits, never before and never if it rolls back; a
task that runs again sends nothing twice."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.models import AuditEvent
from outbox.models import OutboxMessage
from outbox.services import enqueue, outbox_sweep, pending
from randomisation.models import Allocation
from randomisation.tasks import notify_randomised
from safety.tasks import notify_sae_reported
from sites.models import Notification
from sites.notifications import message_id, notify
from tests.crf.conftest import randomised
from tests.safety.conftest import report

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requirement("FLT-2")]


def test_a_task_is_queued_with_its_change_and_runs_once_that_commits(world):
    family = randomised(world, "BUC")
    allocation = Allocation.objects.get(family=family)
    mail.outbox.clear()
    with transaction.atomic():
        message = enqueue(notify_randomised, allocation.pk)
        assert OutboxMessage.objects.get(pk=message.pk).dispatched_at is None
        assert mail.outbox == []  # not before the commit
    message.refresh_from_db()
    assert message.dispatched_at is not None and message.attempts == 1
    assert message.task == "randomisation.tasks.notify_randomised" and message.args == [
        allocation.pk
    ]
    assert not pending().exists()
    assert outbox_sweep() == 0  # eager: nothing is ever left for the sweep


def test_a_rolled_back_change_queues_nothing(world):
    family = randomised(world, "BUC")
    allocation = Allocation.objects.get(family=family)
    before = OutboxMessage.objects.count()
    mail.outbox.clear()
    with transaction.atomic():
        enqueue(notify_randomised, allocation.pk)
        transaction.set_rollback(True)
    assert OutboxMessage.objects.count() == before and mail.outbox == []


def test_enqueue_refuses_to_run_outside_the_change_it_follows(world):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        enqueue(notify_randomised, 1)


def test_a_task_that_runs_again_records_and_sends_nothing_twice(world):
    family = randomised(world, "BUC")
    event = report(world, family)
    notes = Notification.objects.filter(key=f"sae-reported/{event.pk}")
    assert notes.count() == 3 and not notes.filter(delivered_at__isnull=True).exists()
    sent = len(mail.outbox)
    recorded = AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_SENT).count()

    # As if the broker handed the task out again (its worker died before acknowledging it).
    assert notify_sae_reported(event.pk) == 3
    assert notes.count() == 3 and len(mail.outbox) == sent
    assert AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_SENT).count() == recorded


def test_each_recipient_gets_an_email_of_its_own_with_the_notifications_message_id(world):
    mail.outbox.clear()
    with transaction.atomic():
        notify(
            recipients=["a@example.test", "b@example.test", "a@example.test"],
            subject="Subject",
            body="Body",
            site=None,
            actor=None,
            key="test/1",
        )
    notes = list(Notification.objects.filter(key="test/1").order_by("recipient"))
    assert [n.recipient for n in notes] == ["a@example.test", "b@example.test"]
    assert sorted(m.to for m in mail.outbox) == [["a@example.test"], ["b@example.test"]]
    by_to = {m.to[0]: m for m in mail.outbox}
    for note in notes:
        assert by_to[note.recipient].extra_headers["Message-ID"] == message_id(note)
        assert message_id(note).startswith(f"<notification-{note.pk}.")
    # The same key again: found, not sent again.
    with transaction.atomic():
        notify(
            recipients=["a@example.test", "b@example.test"],
            subject="Subject",
            body="Body",
            site=None,
            actor=None,
            key="test/1",
        )
    assert len(mail.outbox) == 2 and Notification.objects.filter(key="test/1").count() == 2


def test_without_a_key_outside_a_task_each_call_is_an_email_of_its_own(world):
    mail.outbox.clear()
    for _ in range(2):
        with transaction.atomic():
            notify(recipients=["a@example.test"], subject="S", body="B", site=None, actor=None)
    assert len(mail.outbox) == 2
    assert Notification.objects.filter(recipient="a@example.test").count() == 2


def test_the_sweep_forgets_what_the_broker_took_a_month_ago_and_keeps_what_waits(world):
    long_ago = timezone.now() - timedelta(days=31)
    taken = OutboxMessage.objects.create(task="x.y", args=[1])
    waiting = OutboxMessage.objects.create(task="x.y", args=[2])
    OutboxMessage.objects.filter(pk=taken.pk).update(created_at=long_ago, dispatched_at=long_ago)
    OutboxMessage.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    outbox_sweep()
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [waiting.pk]

import pytest
from django.core import mail
from django.db import connection

from audit import triggers
from audit.models import AuditEvent
from review.tasks import audit_verify_nightly
from sites.lifecycle import site_update


@pytest.mark.requirement("AUD-2")
def test_a_nightly_run_records_the_head_it_verified(world, django_capture_on_commit_callbacks):
    site_update(site=world.mkn, actor=world.manager, channel="api", recruitment_target=33)
    head = AuditEvent.objects.order_by("-seq").first()
    assert audit_verify_nightly() is None
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.event_type, event.channel, event.actor_username) == (
        "audit_verified",
        "task",
        "system:task",
    )
    assert event.changes == {"verified_through": [None, head.seq], "head_hash": [None, head.hash]}


@pytest.mark.requirement("AUD-2")
def test_a_failed_nightly_run_emails_the_trial_managers_and_is_recorded(
    world, django_capture_on_commit_callbacks
):
    site_update(site=world.mkn, actor=world.manager, channel="api", recruitment_target=33)
    victim = AuditEvent.objects.order_by("seq").first()
    triggers.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = 'changed' WHERE seq = %s", [victim.seq]
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert audit_verify_nightly() == victim.seq
    event = AuditEvent.objects.filter(event_type="audit_verify_failed").get()
    sent = AuditEvent.objects.order_by("-seq").first()
    assert (sent.event_type, sent.changes["recipient"]) == (
        "notification_sent",
        [None, world.manager.email],
    )
    assert event.changes["broken_at"] == [None, victim.seq]
    assert [m.to for m in mail.outbox] == [[world.manager.email]]
    assert f"#{victim.seq}" in mail.outbox[0].body


def test_the_nightly_run_is_scheduled_in_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-verify-nightly"]
    assert entry["task"] == "review.tasks.audit_verify_nightly"
    assert entry["schedule"].hour == {2}

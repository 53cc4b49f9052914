"""A Celery worker killed in the middle of a task that emails: the task runs again (late
acknowledgement), and each recipient gets the email exactly once (each notification is sent
by itself and marked delivered under a row lock; the rerun finds the rows of the first run).

The worker is a real process (`celery -A config worker`, prefork) on the test's PostgreSQL
database and a private Redis, its email written to files. An email backend of the tests
(holding_backend) stops it for good before its second email, once; the test then kills it
with SIGKILL and starts another worker."""

import email
import os
import signal
from pathlib import Path

import pytest
from django.db import connection

from audit.events import EventType
from audit.models import AuditEvent
from audit.verification import verify_ledger
from safety.models import SafetyEvent
from sites.models import Notification
from tests.crf.conftest import randomised
from tests.safety.conftest import report

from .broker import PrivateRedis, Worker, celery_on, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-broker"),
    pytest.mark.requirement("FLT-2"),
]

VISIBILITY_TIMEOUT = 3  # seconds before a task taken by a dead worker is handed out again


@pytest.fixture
def broker(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def workers(tmp_path, broker):
    """Start workers on the test's database; each is stopped (or killed) at the end."""
    started: list[Worker] = []
    settings = connection.settings_dict
    database = (
        f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()

    def start(name: str, **env) -> Worker:
        worker = Worker(
            broker=broker.url,
            database=database,
            mail_dir=mail_dir,
            log=tmp_path / f"{name}.log",
            EMAIL_BACKEND="tests.tasks.holding_backend.EmailBackend",
            HOLD_MARKER=tmp_path / "held",
            CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT,
            **env,
        ).start()
        started.append(worker)
        assert wait_for(worker.ready, 60), worker.output()
        return worker

    start.mail_dir, start.marker = mail_dir, tmp_path / "held"
    yield start
    for worker in started:
        worker.stop()


def whole_emails_in(folder: Path) -> list[email.message.Message]:
    """The messages in the folder, once every one is whole: the file backend writes a message
    in parts, and a worker may still be writing the last (its recipient not yet there)."""
    assert wait_for(lambda: all(m["To"] for m in emails_in(folder)), 30), emails_in(folder)
    return emails_in(folder)


def emails_in(folder: Path) -> list[email.message.Message]:
    found = []
    for path in sorted(folder.glob("*.log")):
        text = path.read_text()
        # The file backend writes each message followed by a line of dashes. Two connections
        # opened in the same second by objects at the same address share a file, so a message
        # may follow a dashes line: its leading newline would read as an empty header block.
        parts = text.split("-" * 79)
        found += [email.message_from_string(part.lstrip("\n")) for part in parts if part.strip()]
    return found


def test_a_worker_killed_mid_task_sends_each_email_once_after_the_rerun(world, broker, workers):
    family = randomised(world, "BUC")  # in-process (eager), before the broker is used
    notes_before = Notification.objects.count()
    recorded_before = AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_SENT).count()

    first = workers("first", HOLD_BEFORE_EMAIL=2)
    with celery_on(broker.url):
        event = report(world, family)  # commits; its email task is published on commit
    # The PI, the chief investigator and the trial manager are told at once.
    recipients = sorted([world.pi_buc.email, world.chief.email, world.manager.email])

    # The worker recorded the three notifications, sent the first, and stopped before the
    # second: then it dies, with the task taken and not acknowledged.
    assert wait_for(workers.marker.exists, 60), first.output()
    notes = Notification.objects.filter(key=f"sae-reported/{event.pk}")
    assert sorted(n.recipient for n in notes) == recipients
    assert notes.filter(delivered_at__isnull=False).count() == 1
    assert len(emails_in(workers.mail_dir)) == 1
    first.kill()
    assert first.process.returncode == -signal.SIGKILL

    second = workers("second")
    assert wait_for(
        lambda: not Notification.objects.filter(delivered_at__isnull=True).exists(), 60
    ), second.output()
    assert wait_for(lambda: "succeeded" in second.output(), 30), second.output()

    # The task ran again on the second worker, found the three notifications it had recorded,
    # and sent the two not yet delivered: one email per recipient, none twice.
    rerun = [line for line in second.output().splitlines() if "notify_sae_reported" in line]
    assert any("received" in line for line in rerun), second.output()
    sent = whole_emails_in(workers.mail_dir)
    assert sorted(m["To"] for m in sent) == recipients
    assert len({m["Message-ID"] for m in sent}) == 3
    assert Notification.objects.count() == notes_before + 3
    assert SafetyEvent.objects.filter(family=family).count() == 1
    recorded = AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_SENT)
    assert recorded.count() == recorded_before + 3
    assert verify_ledger().intact


def test_a_pool_child_killed_mid_task_is_run_again_by_its_worker(world, broker, workers):
    """Only the process running the task dies (out of memory, say): its worker puts the task
    back on the queue at once (task_reject_on_worker_lost) and a new child runs it."""
    family = randomised(world, "BUC")  # in-process (eager), before the broker is used
    worker = workers("only", HOLD_BEFORE_EMAIL=2)
    with celery_on(broker.url):
        event = report(world, family)
    assert wait_for(workers.marker.exists, 60), worker.output()
    (child,) = worker.pool_children()
    os.kill(child, signal.SIGKILL)

    notes = Notification.objects.filter(key=f"sae-reported/{event.pk}")
    assert wait_for(
        lambda: notes.count() == 3 and not notes.filter(delivered_at__isnull=True).exists(), 60
    ), worker.output()
    assert "WorkerLostError" in worker.output() or "exited with 'signal 9" in worker.output()
    sent = whole_emails_in(workers.mail_dir)
    assert sorted(m["To"] for m in sent) == sorted(n.recipient for n in notes)
    assert verify_ledger().intact

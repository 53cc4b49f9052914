"""Background tasks queued through a table, so that a change and the task it asks for are
committed together, and a broker that is down never turns a saved change into an error.

`enqueue` writes an OutboxMessage inside the caller's transaction. Once that commits, the
message is published to the broker at once; if the broker does not take it within a fraction
of a second, a warning is logged and the message stays pending. `outbox_sweep` (Celery beat,
every minute) publishes whatever is still pending. A message may so reach the broker twice
(published, then the process died before marking it): every task queued this way is
idempotent (a rerun finds what the first run wrote).

With CELERY_TASK_ALWAYS_EAGER (the demo, the tests) the task runs in-process on commit.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboxMessage

log = logging.getLogger(__name__)

# One quick retry, then give up: a dead broker costs well under a second of the request, and
# the sweep tries again later. (With retry off, kombu's own reconnection takes seconds.)
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
# The sweep leaves a message this young alone: its own commit is publishing it.
SWEEP_AFTER = timedelta(seconds=10)
SWEEP_BATCH = 500
# A message the broker took is kept this long (to see what ran lately), then deleted: what the
# task did is in the records and the ledger, not here.
KEEP = timedelta(days=30)


def enqueue(task, *args) -> OutboxMessage:
    """Queue `task(*args)` (a Celery task or its name; JSON arguments) to run once the
    caller's transaction commits. Refuses to run outside a transaction: the message must be
    committed with the change that asks for it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue() runs inside the transaction of the change it follows.")
    name = task if isinstance(task, str) else task.name
    message = OutboxMessage.objects.create(task=name, args=list(args))
    pk = message.pk
    transaction.on_commit(lambda: _publish_after_commit(pk))
    return message


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def _publish_after_commit(pk: int) -> None:
    if _eager():
        # As the services did before the outbox: run now, and let an error be seen.
        OutboxMessage.objects.filter(pk=pk).update(
            dispatched_at=timezone.now(), attempts=1, last_error=""
        )
        message = OutboxMessage.objects.get(pk=pk)
        _task(message.task).apply_async(message.args, task_id=message.task_id)
        return
    try:
        publish(OutboxMessage.objects.filter(pk=pk))
    except Exception:  # never into the request: the change is committed, the sweep retries
        log.warning("outbox message %s not published; the sweep will retry", pk, exc_info=True)


def _task(name: str):
    try:
        return current_app.tasks[name]
    except KeyError:
        return import_string(name)  # a shared task not yet imported by this process


@transaction.atomic
def publish(pending) -> int:
    """Publish the pending messages of the queryset that no one else is publishing (each
    locked for the publish: a row another process holds is skipped, not waited for).
    Returns how many the broker took; the others keep their error and stay pending."""
    rows = list(
        pending.filter(dispatched_at__isnull=True)
        .select_for_update(skip_locked=True)
        .order_by("pk")[:SWEEP_BATCH]
    )
    taken = 0
    for message in rows:
        message.attempts += 1
        try:
            current_app.send_task(
                message.task,
                args=message.args,
                task_id=message.task_id,
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
            )
        except Exception as error:
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            message.save(update_fields=["attempts", "last_error"])
            log.warning("outbox: %s not published (%s)", message, message.last_error)
            # The broker is down: the rest would fail the same way. Leave them for the sweep.
            break
        message.dispatched_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "dispatched_at", "last_error"])
        taken += 1
    return taken


def outbox_sweep(*, older_than: timedelta = SWEEP_AFTER) -> int:
    """Publish every message still pending `older_than` after it was written, and forget
    those the broker took more than KEEP ago. Returns how many it published."""
    now = timezone.now()
    OutboxMessage.objects.filter(dispatched_at__lt=now - KEEP).delete()
    if _eager():
        return 0
    return publish(OutboxMessage.objects.filter(created_at__lte=now - older_than))


def pending(tasks: Iterable[str] | None = None):
    """Messages the broker has not taken yet (for the operator's checks and the tests)."""
    found = OutboxMessage.objects.filter(dispatched_at__isnull=True)
    return found.filter(task__in=list(tasks)) if tasks is not None else found

from celery import shared_task

from .notifications import sae_reported_notify
from .reminders import safety_due_remind


@shared_task
def notify_sae_reported(event_id: int) -> int:
    return sae_reported_notify(event_id=event_id)


@shared_task
def remind_safety_due() -> int:
    return safety_due_remind()

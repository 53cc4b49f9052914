from celery import shared_task

from trial.models import Trial

from .due import keep_forms_due
from .notifications import alert_send, overdue_remind


@shared_task
def send_alert(response_id: int, keys: list[str]) -> int:
    return alert_send(response_id=response_id, keys=keys)


@shared_task
def remind_overdue() -> int:
    return overdue_remind()


@shared_task
def keep_forms_due_nightly() -> int:
    """Each trial's forms due for the new day, worked out and kept (crf.due)."""
    trials = list(Trial.objects.all())
    for trial in trials:
        keep_forms_due(trial)
    return len(trials)

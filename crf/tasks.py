from celery import shared_task

from .notifications import alert_send, overdue_remind


@shared_task
def send_alert(response_id: int, keys: list[str]) -> int:
    return alert_send(response_id=response_id, keys=keys)


@shared_task
def remind_overdue() -> int:
    return overdue_remind()

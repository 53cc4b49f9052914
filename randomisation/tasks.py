from celery import shared_task

from .notifications import exhausted_alert_send, randomised_notify


@shared_task
def notify_randomised(allocation_id: int) -> int:
    return randomised_notify(allocation_id=allocation_id)


@shared_task
def alert_exhausted(stratum_id: int, family_id: int) -> int:
    return exhausted_alert_send(stratum_id=stratum_id, family_id=family_id)

from celery import shared_task

from .breach_reminders import serious_breaches_remind


@shared_task
def remind_serious_breaches() -> int:
    """Daily (beat): remind of possible serious breaches due within 2 days or overdue."""
    return serious_breaches_remind()

from celery import shared_task

from .services import outbox_sweep


@shared_task
def sweep_outbox() -> int:
    """Every minute (beat): publish the tasks the broker did not take when they were queued.
    Returns how many it took now."""
    return outbox_sweep()

from celery import shared_task

from audit.verification import verify_ledger
from core.channels import Channel

from .services import verification_record


@shared_task
def audit_verify_nightly() -> int | None:
    """Verify the whole ledger and record the result; a failure emails the trial managers.
    Returns the event at which the chain broke, or None."""
    result = verify_ledger()
    verification_record(result=result, actor=None, channel=Channel.TASK)
    return result.broken_at

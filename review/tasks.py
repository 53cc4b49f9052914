from celery import shared_task

from audit.sealing import seal_waiting
from audit.verification import verify_ledger
from core.channels import Channel

from .heads import ledger_head_publish
from .services import verification_record


@shared_task
def ledger_seal() -> int:
    """Seal what waits in the ledger (batched sealing): the backstop for an event whose
    writer's nudge after commit did not run (the process died between the two). Returns
    how many events it sealed."""
    return seal_waiting()


@shared_task
def audit_verify_nightly() -> int | None:
    """Verify the whole ledger and record the result; a failure emails the trial managers.
    Returns the event at which the chain broke, or None."""
    seal_waiting()
    result = verify_ledger()
    verification_record(result=result, actor=None, channel=Channel.TASK)
    return result.broken_at


@shared_task
def ledger_head_publish_nightly() -> int | None:
    """Publish the ledger's head outside the database (a file line and an email to the trial
    managers). Returns the place in the chain published, or None for an empty ledger."""
    event = ledger_head_publish(actor=None, channel=Channel.TASK)
    return event.changes["head_seq"][1] if event else None

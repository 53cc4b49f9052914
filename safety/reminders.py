"""Reminders of safety steps due soon or overdue, to the site's PI and the chief
investigator: at most one a day for each step of each event."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.clock import today

from .clock import REMIND_REC_DAYS_BEFORE
from .models import SafetyEvent, SafetyReminder, SafetyStatus
from .notifications import reminder_notify
from .selectors import steps_of

ASSESS_REMIND_BEFORE = timedelta(hours=12)


def _due_soon(step, now) -> bool:
    if hasattr(step.due, "hour"):
        return now >= step.due - ASSESS_REMIND_BEFORE
    return now.date() >= step.due - timedelta(days=REMIND_REC_DAYS_BEFORE)


@transaction.atomic(durable=True)
def safety_due_remind() -> int:
    """Every open step due within its reminder window, or overdue, once today."""
    now, on = timezone.now(), today()
    sent = 0
    open_events = (
        SafetyEvent.objects.exclude(status=SafetyStatus.CLOSED, rec_due_on__isnull=True)
        .select_related("family__site", "family__trial", "response")
        .order_by("pk")
    )
    for event in open_events:
        for step in steps_of(event, now):
            if not step.open or not _due_soon(step, now):
                continue
            try:
                with transaction.atomic():
                    SafetyReminder.objects.create(event=event, step=step.step, sent_on=on)
            except IntegrityError:
                continue  # reminded of this step today already
            sent += reminder_notify(
                event=event, step=step.step, label=step.label, due=step.due, on=on
            )
    return sent

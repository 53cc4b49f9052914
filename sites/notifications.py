"""Emails the system sends, each recorded (Notification row and ledger event)."""

import hashlib
import uuid

from celery import current_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from core.channels import Channel
from core.clock import today
from core.roles import Role

from .models import Notification, Site, SiteStatus


@transaction.atomic(durable=True)
def site_active_notify(*, site: Site, actor) -> int:
    """Tell every trial manager of the site's trial that the site is active. `actor` is the
    user whose act queued the email; the channel is the background task."""
    managers = site.trial.memberships.filter(
        role=Role.TRIAL_MANAGER, site__isnull=True, ends_on__isnull=True
    ).select_related("user")
    recipients = sorted({m.user.email for m in managers if m.user.email})
    subject = f"[{site.trial.short_name}] {site.code} is active and may recruit"
    step = site.status_steps.filter(to_status=SiteStatus.ACTIVE).order_by("-recorded_at").first()
    effective = step.effective_date if step else today()
    body = (
        f"{site.name} ({site.code}, {site.nhs_trust}) is active from {effective:%d %B %Y}, "
        f"recorded "
        f"by {actor.get_full_name() or actor.get_username()}.\n\n"
        "The site may now screen and enrol families."
    )
    return notify(
        recipients=recipients,
        subject=subject,
        body=body,
        site=site,
        actor=actor,
        key=f"site-active/{site.pk}/{step.pk if step else effective}",
    )


def notify(
    *,
    recipients: list[str],
    subject: str,
    body: str,
    site: Site | None,
    actor,
    family: str = "",
    conceal: str = "",
    sent_body: str | None = None,
    key: str = "",
) -> int:
    """Record each email (a Notification row and its ledger event) inside the caller's
    transaction, and send them once it commits. For every task that emails people.
    `conceal` marks an email about something that would reveal an arm (see the ledger).
    `sent_body`, when given, is what is sent while `body` is what is kept: an email that
    carries a one-time link keeps the text without it.
    `key` names what the email is about ("randomised/42"): a task that runs again (its
    worker died before acknowledging it) finds the rows of its first run and sends only those
    not yet delivered. Without a key, inside a task the key is made from the task's id (the
    same each time the broker hands the task out) and the email's text; elsewhere each call is
    an email of its own."""
    key = key or _task_key(subject, body)
    recipients = list(dict.fromkeys(recipients))
    recorded = set(
        Notification.objects.filter(key=key, recipient__in=recipients).values_list(
            "recipient", flat=True
        )
    )
    for address in recipients:
        if address in recorded:
            continue
        note = Notification(key=key, recipient=address, subject=subject, body=body, site=site)
        stamp(note, actor=actor).save()
        record(
            event=EventType.NOTIFICATION_SENT,
            actor=actor,
            channel=Channel.TASK,
            obj=note,
            site=site,
            family=family,
            changes={"recipient": [None, address], "subject": [None, subject]},
            conceal=conceal,
        )
    waiting = list(
        Notification.objects.filter(
            key=key, recipient__in=recipients, delivered_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if waiting:
        transaction.on_commit(lambda: deliver(waiting, sent_body=sent_body))
    return len(recipients)


def _task_key(subject: str, body: str) -> str:
    task_id = getattr(getattr(current_task, "request", None), "id", None)
    if not task_id:
        return f"once/{uuid.uuid4().hex}"
    about = hashlib.sha256(f"{subject}\n\n{body}".encode()).hexdigest()[:32]
    return f"task/{task_id}/{about}"


def deliver(pks: list[int], *, sent_body: str | None = None) -> int:
    """Send each notification not yet delivered, each by itself. Returns how many were sent."""
    return sum(notification_deliver(pk=pk, sent_body=sent_body) for pk in pks)


@transaction.atomic
def notification_deliver(*, pk: int, sent_body: str | None = None) -> bool:
    """Send one notification unless it was delivered already, and mark it delivered.

    The row is locked and `delivered_at` set in the same transaction as the send, so two runs
    of a task never both send it, and a run after a crash skips what was sent. SMTP itself is
    at-least-once: a crash after the mail server took the message and before this commit
    sends it again on the rerun. That duplicate carries the same Message-ID (made from the
    notification's id), so mail clients show one email."""
    note = Notification.objects.select_for_update().filter(pk=pk, delivered_at__isnull=True).first()
    if note is None:
        return False
    EmailMessage(
        subject=note.subject,
        body=sent_body or note.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[note.recipient],
        headers={"Message-ID": message_id(note)},
    ).send()
    # Not a new version of the record (its history keeps who caused it): the time it left.
    Notification.objects.filter(pk=note.pk).update(delivered_at=timezone.now())
    return True


def message_id(note: Notification) -> str:
    """The same Message-ID every time this notification is sent."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    about = hashlib.sha256(note.key.encode()).hexdigest()[:16]
    return f"<notification-{note.pk}.{about}@{domain}>"

"""Emails the system sends, each recorded (Notification row and ledger event)."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

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
    return notify(recipients=recipients, subject=subject, body=body, site=site, actor=actor)


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
) -> int:
    """Record each email (a Notification row and its ledger event) inside the caller's
    transaction, and send them once it commits. For every task that emails people.
    `conceal` marks an email about something that would reveal an arm (see the ledger).
    `sent_body`, when given, is what is sent while `body` is what is kept: an email that
    carries a one-time link keeps the text without it."""
    for address in recipients:
        note = Notification(recipient=address, subject=subject, body=body, site=site)
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
    if recipients:
        transaction.on_commit(
            lambda: send_mail(subject, sent_body or body, settings.DEFAULT_FROM_EMAIL, recipients)
        )
    return len(recipients)

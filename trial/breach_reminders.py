"""The serious-breach clock's reminders: each day, the trial managers and chief
investigators hear of every possible serious breach due within 2 days, or overdue, and not
reported, at most once a day each. An email names the family by its trial identifier, the
kind of deviation and its due date, and links to it: never identity, never the arm, never
what was written about it (free text can name people)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.roles import BLINDED_ROLES, Role
from sites.models import Membership
from sites.notifications import notify

from .models import ProtocolDeviation

REMIND_WITHIN = timedelta(days=2)
RECIPIENT_ROLES = (Role.TRIAL_MANAGER, Role.CHIEF_INVESTIGATOR)


def breaches_to_remind(now: datetime):
    """The possible serious breaches not reported, due within 2 days or overdue, not yet
    reminded of on this day."""
    day = timezone.localdate(now)
    return (
        ProtocolDeviation.objects.filter(
            possible_serious_breach=True,
            breach_reported_on__isnull=True,
            breach_due_at__lte=now + REMIND_WITHIN,
        )
        .filter(Q(breach_reminded_on__isnull=True) | Q(breach_reminded_on__lt=day))
        .select_related("family__site", "family__trial")
        .order_by("breach_due_at", "pk")
    )


def _recipients(deviation: ProtocolDeviation) -> list[str]:
    site = deviation.family.site
    held = Membership.objects.filter(
        trial_id=site.trial_id, site__isnull=True, role__in=RECIPIENT_ROLES, ends_on__isnull=True
    ).select_related("user")
    people = {m.user for m in held if m.user.email and m.user.is_active}
    if deviation.reveals_arm:
        # Whoever is blinded at the family's site is not told even the kind of it.
        blinded = set(
            Membership.objects.filter(
                Q(site=site) | Q(site__isnull=True, trial_id=site.trial_id),
                role__in=BLINDED_ROLES,
                ends_on__isnull=True,
            ).values_list("user_id", flat=True)
        )
        people = {u for u in people if u.pk not in blinded}
    return sorted(u.email for u in people)


def _body(deviation: ProtocolDeviation, now: datetime) -> tuple[str, str]:
    family = deviation.family
    due = timezone.localtime(deviation.breach_due_at)
    late = now > deviation.breach_due_at
    state = "OVERDUE" if late else "due"
    subject = (
        f"[{family.trial.short_name}] Possible serious breach {state}: {family.identifier} "
        f"(report by {due:%d %b %Y %H:%M})"
    )
    link = getattr(settings, "SITE_URL", "") + reverse("deviation-detail", args=[deviation.pk])
    body = (
        f"A possible serious breach at {family.site.code} ({family.identifier}, "
        f"{deviation.get_kind_display().lower()}) "
        + ("was due to be reported" if late else "must be reported")
        + f" to the sponsor and the ethics committee by {due:%d %B %Y %H:%M}.\n\n"
        "Once reported, record the date on the deviation:\n"
        f"{link}\n"
    )
    return subject, body


@transaction.atomic(durable=True)
def serious_breaches_remind(*, now: datetime | None = None, actor=None) -> int:
    """Email each possible serious breach due within 2 days or overdue and not reported to
    the trial's managers and chief investigators; once a day each. Returns emails sent."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    sent = 0
    # Locked so that two runs on the same day do not both remind.
    found = breaches_to_remind(now).select_for_update(of=("self",))
    for deviation in found:
        subject, body = _body(deviation, now)
        sent += notify(
            recipients=_recipients(deviation),
            subject=subject,
            body=body,
            site=deviation.family.site,
            actor=actor,
            family=deviation.family.identifier,
        )
        ProtocolDeviation.objects.filter(pk=deviation.pk).update(breach_reminded_on=day)
    return sent

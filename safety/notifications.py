"""Emails about safety events, through the one sender (each recorded). They name the family
by its trial identifier and link to the event: never a name, never the event's description,
and never its relatedness or expectedness, which can tell the arm (a recipient may hold a
blinded role too)."""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from audit.events import Concealed
from core.roles import Role
from sites.models import Membership
from sites.notifications import notify

from .models import SafetyEvent

# Who hears of a new event at once, and who is reminded of its due steps.
TOLD_AT_ONCE = (Role.PRINCIPAL_INVESTIGATOR, Role.CHIEF_INVESTIGATOR, Role.TRIAL_MANAGER)
REMINDED = (Role.PRINCIPAL_INVESTIGATOR, Role.CHIEF_INVESTIGATOR)
KINDS = {"sae": "Serious adverse event", "safeguarding": "Safeguarding incident"}


def event_link(event: SafetyEvent) -> str:
    return settings.SITE_URL + reverse("safety-event", args=[event.pk])


def recipients(event: SafetyEvent, roles) -> list[str]:
    """Addresses of those holding the roles at the event's site or trial-wide, today."""
    family = event.family
    on = timezone.localdate()
    found = (
        Membership.objects.filter(trial=family.trial, role__in=roles, starts_on__lte=on)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
        .filter(Q(site=family.site) | Q(site__isnull=True))
        .exclude(user__email="")
        .filter(user__is_active=True)
        .values_list("user__email", flat=True)
    )
    return sorted(set(found))


def _kind(event: SafetyEvent) -> str:
    return KINDS.get(event.kind, "Safety event")


@transaction.atomic
def sae_reported_notify(*, event_id: int) -> int:
    event = SafetyEvent.objects.select_related("family__site", "family__trial", "reported_by").get(
        pk=event_id
    )
    family = event.family
    aware = timezone.localtime(event.aware_at)
    body = (
        f"{_kind(event)} reported at {family.site.code} for {family.identifier}.\n\n"
        f"The site became aware on {aware:%d %B %Y at %H:%M}; the report was saved on "
        f"{timezone.localtime(event.reported_at):%d %B %Y at %H:%M}"
        f"{' (late: more than 24 hours after)' if event.late_reason else ''}.\n"
        "Next: the site's principal investigator assesses it (seriousness, relatedness, "
        "expectedness), then the chief investigator reviews it.\n\n"
        f"{event_link(event)}\n"
    )
    return notify(
        recipients=recipients(event, TOLD_AT_ONCE),
        subject=f"[{family.trial.short_name}] {_kind(event)} reported: {family.identifier}",
        body=body,
        site=family.site,
        actor=event.reported_by,
        family=family.identifier,
        conceal=Concealed.EVENT,
        key=f"sae-reported/{event.pk}",
    )


def reminder_notify(*, event: SafetyEvent, step: str, label: str, due, on: date) -> int:
    """One reminder of one due step to the site's PI and the chief investigator."""
    family = event.family
    when = (
        f"{timezone.localtime(due):%d %B %Y at %H:%M}"
        if hasattr(due, "hour")
        else f"{due:%d %B %Y}"
    )
    overdue = (due < timezone.now()) if hasattr(due, "hour") else due < on
    state = "was due" if overdue else "is due"
    body = (
        f"{_kind(event)} for {family.identifier} ({family.site.code}): {label} {state} "
        f"{when}.\n\n{event_link(event)}\n"
    )
    return notify(
        recipients=recipients(event, REMINDED),
        subject=f"[{family.trial.short_name}] {'Overdue' if overdue else 'Due'}: {label}, "
        f"{family.identifier}",
        body=body,
        site=family.site,
        actor=None,
        family=family.identifier,
        conceal=Concealed.EVENT,
        key=f"safety-reminder/{event.pk}/{step}/{on.isoformat()}",
    )


def unblinding_shown_notify(*, item) -> int:
    """The trial managers hear that a blinded person was shown a family's arm (not which),
    with a link to the request: not its reason, free text that can name the family's people."""
    family = item.family
    on = timezone.localdate()
    managers = (
        Membership.objects.filter(
            trial=family.trial, role=Role.TRIAL_MANAGER, site__isnull=True, starts_on__lte=on
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    who = item.requested_by.get_full_name() or item.requested_by.get_username()
    approver = item.decided_by.get_full_name() or item.decided_by.get_username()
    body = (
        f"{who} was shown the arm of {family.identifier} ({family.site.code}) on "
        f"{timezone.localtime(item.shown_at):%d %B %Y at %H:%M}, after an emergency "
        f"unblinding approved by {approver}.\n\nThe request and its reason:\n"
        f"{settings.SITE_URL}{reverse('safety-unblinding')}\n"
    )
    return notify(
        recipients=sorted(set(managers)),
        subject=f"[{family.trial.short_name}] Emergency unblinding: {family.identifier}",
        body=body,
        site=family.site,
        actor=item.requested_by,
        family=family.identifier,
        key=f"unblinding-shown/{item.pk}",
    )

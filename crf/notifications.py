"""Emails about forms: a form's alert (CORE-10's risk item), and the daily overdue list."""

from collections import defaultdict

from django.db import transaction
from django.db.models import Q

from core.clock import today
from core.roles import BLINDED_ROLES, Role
from sites.models import Membership, Site
from sites.notifications import notify
from trial.models import Family

from .models import Response
from .selectors import outstanding_forms


def _people(site: Site, roles: set[str]) -> list:
    found = Membership.objects.filter(
        site=site, role__in=roles, ends_on__isnull=True
    ).select_related("user")
    people = {m.user.pk: m.user for m in found if m.user.email and m.user.is_active}
    return sorted(people.values(), key=lambda u: u.email)


def _blinded_at(site: Site) -> set[int]:
    """The people blinded at the site: never told of a form that reveals the arm, whatever
    other role brought them the email."""
    return set(
        Membership.objects.filter(
            Q(site=site) | Q(site__isnull=True, trial_id=site.trial_id),
            role__in=BLINDED_ROLES,
            ends_on__isnull=True,
        ).values_list("user_id", flat=True)
    )


@transaction.atomic(durable=True)
def alert_send(*, response_id: int, keys: list[str]) -> int:
    """The site's coordinators and PI hear of a form's alert. No answers in the email: the
    family identifier, the form and the rule, so that the site looks now."""
    response = Response.objects.select_related("family__site", "family__trial", "definition").get(
        pk=response_id
    )
    family, site = response.family, response.family.site
    messages = {a.key: a.message for a in response.spec.alerts}
    subject = f"[{family.trial.short_name}] ALERT {family.identifier}: {response.definition.title}"
    body = (
        f"{response.definition.title} entered for {family.identifier} ({site.code}) set off:\n"
        + "".join(f"- {messages.get(k, k)}\n" for k in keys)
        + "\nFollow the site's risk procedure today, and record what was done."
    )
    people = _people(site, {Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR})
    if response.definition.reveals_arm:
        blinded = _blinded_at(site)
        people = [u for u in people if u.pk not in blinded]
    return notify(
        site=site,
        recipients=[u.email for u in people],
        subject=subject,
        body=body,
        actor=response.updated_by,
        family=family.identifier,
        conceal=response.conceal,
    )


@transaction.atomic(durable=True)
def overdue_remind(*, actor=None) -> int:
    """Each active site's coordinators get their overdue forms, one email per site."""
    sent = 0
    day = today()
    by_site = defaultdict(list)
    families = Family.objects.all()  # follow-up goes on after a site stops recruiting
    for item in outstanding_forms(families, on=day):
        if item.overdue:
            by_site[item.family.site].append(item)
    for site, items in sorted(by_site.items(), key=lambda kv: kv[0].code):
        people = _people(site, {Role.SITE_COORDINATOR})
        blinded = _blinded_at(site)
        # Someone blinded at the site gets the list without the forms that reveal the arm.
        for hide, group in (
            (False, [u for u in people if u.pk not in blinded]),
            (True, [u for u in people if u.pk in blinded]),
        ):
            shown = [i for i in items if not (hide and i.reveals_arm)]
            if not (group and shown):
                continue
            lines = [
                f"- {i.family.identifier}: {i.title} at {i.visit.label} "
                f"(window closed {i.latest:%d %b %Y})"
                for i in sorted(shown, key=lambda i: (i.family.identifier, i.visit.day, i.form))
            ]
            subject = f"[{site.trial.short_name}] {site.code}: {len(shown)} overdue form(s)"
            body = f"Overdue on {day:%d %B %Y}:\n" + "\n".join(lines)
            sent += notify(
                site=site,
                recipients=[u.email for u in group],
                subject=subject,
                body=body,
                actor=actor,
            )
    return sent

"""Emails about randomisation, through the one sender (each recorded). The arm goes only to
those the concealment policy lets learn it."""

from django.db import transaction

from core.roles import Role
from sites.models import Membership, Notification
from sites.notifications import notify
from trial.config import config_of
from trial.models import Family

from .concealment import told_arm
from .models import Allocation, Stratum


@transaction.atomic
def randomised_notify(*, allocation_id: int) -> int:
    """The site's coordinators and the trial managers, if they may learn the arm."""
    allocation = Allocation.objects.select_related(
        "family__site", "family__trial", "randomised_by"
    ).get(pk=allocation_id)
    family = allocation.family
    people = Membership.objects.filter(
        trial=family.trial,
        ends_on__isnull=True,
        role__in=[Role.SITE_COORDINATOR, Role.TRIAL_MANAGER],
    ).select_related("user")
    users = {m.user for m in people if m.site_id in (None, family.site_id) and m.user.email}
    arm, told = told_arm(allocation, sorted(users, key=lambda u: u.email))
    test = " [TEST MODE: dummy allocation]" if allocation.mode == "test" else ""
    label = config_of(family.trial).randomisation.arms.get(arm, arm)
    body = (
        f"{family.identifier} ({family.site.code}) was randomised on "
        f"{allocation.randomised_at:%d %B %Y %H:%M} UTC by "
        f"{allocation.randomised_by.get_username()}.\n\nArm: {label}{test}"
    )
    return notify(
        recipients=[u.email for u in told],
        subject=f"[{family.trial.short_name}] {family.identifier} randomised{test}",
        body=body,
        site=family.site,
        actor=allocation.randomised_by,
        family=family.identifier,
    )


@transaction.atomic
def exhausted_alert_send(*, stratum_id: int, family_id: int) -> int:
    """The unblinded statisticians hear that a stratum's list is used up."""
    stratum = Stratum.objects.get(pk=stratum_id)
    family = Family.objects.select_related("trial", "site").get(pk=family_id)
    recipients = sorted(
        set(
            Membership.objects.filter(
                trial=family.trial, role=Role.STATISTICIAN_UNBLINDED, ends_on__isnull=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    body = (
        f"{family.identifier} could not be randomised: the {stratum.mode} list for stratum "
        f"{stratum.key} has no slot left ({stratum.length} used). Nothing was allocated. "
        "Generate and seal a list for this stratum."
    )
    return notify(
        recipients=recipients,
        subject=f"[{family.trial.short_name}] STRATUM EXHAUSTED: {stratum.key}",
        body=body,
        site=family.site,
        actor=None,
        family=family.identifier,
    )


@transaction.atomic
def site_list_request(*, site, actor) -> int:
    """Ask the unblinded statisticians for the live list a site waits for before it can be
    activated. Each is asked once per site: the work list keeps it before them after that."""
    subject = f"[{site.trial.short_name}] {site.code} waits for its randomisation list"
    asked = set(
        Notification.objects.filter(site=site, subject=subject).values_list("recipient", flat=True)
    )
    recipients = sorted(
        set(
            Membership.objects.filter(
                trial=site.trial, role=Role.STATISTICIAN_UNBLINDED, ends_on__isnull=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
        - asked
    )
    who = actor.get_full_name() or actor.get_username()
    body = (
        f"{site.name} ({site.code}) is approved and waits for its randomisation list before "
        f"it can be activated ({who} manages the site). Randomisation is live and the site is "
        "a stratification factor, so a sealed live list must cover the site's strata.\n\n"
        f"Generate a live list for {site.code} on the Randomisation page (choose the site), "
        "check it and seal it. The site can then be activated."
    )
    return notify(recipients=recipients, subject=subject, body=body, site=site, actor=actor)

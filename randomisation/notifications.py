"""Emails about randomisation. The arm goes only to those who may know it."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from core.roles import Role
from sites.models import Membership
from trial.models import Family

from .concealment import may_see_arm
from .models import Allocation, Stratum


def _send(subject: str, body: str, recipients: list[str]) -> int:
    if recipients:
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        )
    return len(recipients)


@transaction.atomic
def randomised_notify(*, allocation_id: int) -> int:
    """The site's coordinators and the trial managers, if they may see the arm."""
    allocation = Allocation.objects.select_related("family__site", "family__trial").get(
        pk=allocation_id
    )
    family = allocation.family
    people = Membership.objects.filter(
        trial=family.trial,
        ends_on__isnull=True,
        role__in=[Role.SITE_COORDINATOR, Role.TRIAL_MANAGER],
    ).select_related("user", "site")
    users = {m.user for m in people if m.site_id in (None, family.site_id)}
    recipients = sorted(u.email for u in users if u.email and may_see_arm(u, family.site))
    arms = dict(family.trial.definition["randomisation"]["arms"])
    test = " [TEST MODE: dummy allocation]" if allocation.mode == "test" else ""
    subject = f"[{family.trial.short_name}] {family.identifier} randomised{test}"
    body = (
        f"{family.identifier} ({family.site.code}) was randomised on "
        f"{allocation.randomised_at:%d %B %Y %H:%M} UTC by "
        f"{allocation.randomised_by.get_username()}.\n\nArm: {arms.get(allocation.arm)}{test}"
    )
    return _send(subject, body, recipients)


@transaction.atomic
def exhausted_alert_send(*, stratum_id: int, family_id: int) -> int:
    stratum = Stratum.objects.get(pk=stratum_id)
    family = Family.objects.select_related("trial").get(pk=family_id)
    recipients = sorted(
        set(
            Membership.objects.filter(
                trial=family.trial, role=Role.STATISTICIAN_UNBLINDED, ends_on__isnull=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    subject = f"[{family.trial.short_name}] STRATUM EXHAUSTED: {stratum.key}"
    body = (
        f"{family.identifier} could not be randomised: the {stratum.mode} list for stratum "
        f"{stratum.key} has no slot left ({stratum.length} used). Nothing was allocated. "
        "Generate and seal a list for this stratum."
    )
    return _send(subject, body, recipients)

"""Who may see what. Every list and detail lookup starts here, so that a record of
another site is simply not found."""

from collections.abc import Iterable
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from core.clock import today
from core.roles import TRIAL_WIDE_ROLES, Role

from .models import Delegation, Membership, Site

User = get_user_model()


def open_memberships(user, *, on: date | None = None) -> QuerySet[Membership]:
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    day = on or today()
    return Membership.objects.filter(user=user, starts_on__lte=day).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=day)
    )


def sites_where(user, *, roles: Iterable[str], on: date | None = None) -> QuerySet[Site]:
    """Sites at which the user holds one of the roles; a trial-wide role covers every
    site of its trial."""
    roles = set(roles)
    held = open_memberships(user, on=on).filter(role__in=roles)
    trial_wide = held.filter(site__isnull=True).values("trial_id")
    site_level = held.filter(site__isnull=False).values("site_id")
    return Site.objects.filter(Q(trial_id__in=trial_wide) | Q(pk__in=site_level))


def sites_visible_to(user) -> QuerySet[Site]:
    return sites_where(user, roles=set(Role))


def roles_at(user, site: Site | None, *, trial=None, on: date | None = None) -> set[str]:
    """The roles the user holds at the site (site-level and trial-wide), or, with no
    site, the trial-wide roles (in one trial when trial is given)."""
    held = open_memberships(user, on=on)
    if site is not None:
        held = held.filter(Q(site=site) | Q(site__isnull=True, trial_id=site.trial_id))
    else:
        held = held.filter(site__isnull=True)
        if trial is not None:
            held = held.filter(trial=trial)
    return set(held.values_list("role", flat=True))


def role_label(user, site: Site | None) -> str:
    """The actor's roles as the ledger records them: at the site, else trial-wide."""
    return ",".join(sorted(roles_at(user, site)))


def is_trial_manager(user, trial=None) -> bool:
    return Role.TRIAL_MANAGER in roles_at(user, None, trial=trial)


def trials_managed_by(user):
    return (
        open_memberships(user).filter(role=Role.TRIAL_MANAGER, site__isnull=True).values("trial_id")
    )


def memberships_visible_to(user) -> QuerySet[Membership]:
    """Trial managers see every membership of their trials; everyone else sees the
    memberships at the sites they can see, and their own."""
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    managed = trials_managed_by(user)
    return (
        Membership.objects.filter(
            Q(trial_id__in=managed) | Q(site__in=sites_visible_to(user)) | Q(user=user)
        )
        .select_related("user", "site", "trial")
        .distinct()
    )


def memberships_of_people_matching(
    memberships: QuerySet[Membership], text: str
) -> QuerySet[Membership]:
    """The memberships of the people whose name, username or email holds every word of
    the text (any case): "morag ellis", "ellis", "m.ellis@", "coord.buc"."""
    for word in text.split():
        memberships = memberships.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(user__username__icontains=word)
            | Q(user__email__icontains=word)
        )
    return memberships


def delegations_visible_to(user) -> QuerySet[Delegation]:
    return Delegation.objects.filter(membership__in=memberships_visible_to(user)).select_related(
        "membership__user", "membership__site"
    )


def users_visible_to(user) -> QuerySet:
    """Accounts a trial manager can grant roles to: every account holding or having held
    a role in a trial they manage, and accounts with no role yet."""
    if not is_trial_manager(user):
        return User.objects.filter(pk=user.pk) if user.is_authenticated else User.objects.none()
    managed = trials_managed_by(user)
    return User.objects.filter(
        Q(memberships__trial_id__in=managed) | Q(memberships__isnull=True)
    ).distinct()


def trial_wide(role: str) -> bool:
    return role in TRIAL_WIDE_ROLES

"""The home page: the person's work list, role by role, and their roles; and each section of
the list on a page of its own, all of it, a page at a time."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import render

from core.roles import Role
from sites.models import Delegation, SiteStatus
from sites.pagekit import paged
from sites.selectors import open_memberships, sites_visible_to, sites_where

from .selectors import remember_waiting, section_of, work_for


@login_required
def home(request):
    memberships = open_memberships(request.user).select_related("trial", "site")
    roles = {m.role for m in memberships}
    sites = (
        sites_visible_to(request.user)
        .select_related("trial", "principal_investigator")
        .annotate(staff=Count("memberships", filter=Q(memberships__ends_on__isnull=True)))
    )
    sections = work_for(request.user)
    return render(
        request,
        "home.html",
        {
            "memberships": memberships,
            "roles": roles,
            "sites": sites,
            "sections": sections,
            "waiting": remember_waiting(request.user, sections),
            # A referral is not on the list until it is screened: screening starts here.
            "can_screen": sites_where(request.user, roles={Role.SITE_COORDINATOR})
            .filter(status=SiteStatus.ACTIVE)
            .exists(),
            "status_counts": {s.label: sum(1 for x in sites if x.status == s) for s in SiteStatus},
            "my_delegations": Delegation.objects.filter(
                membership__in=memberships, ends_on__isnull=True
            ).select_related("membership__site"),
        },
    )


@login_required
def section_page(request, role: str, key: str):
    """One section of the person's own work list, whole: a role they do not hold, or a
    section their roles do not have, is not found."""
    section = section_of(request.user, role, key)
    if section is None:
        raise Http404("No such list of work of yours.")
    return render(
        request,
        "worklist/section.html",
        {"section": section, "page": paged(request, section.items)},
    )

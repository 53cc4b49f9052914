"""Pages for sites, people and the delegation log. Thin: selectors to read, services to write."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.channels import Channel
from core.roles import SITE_ROLES, TRIAL_WIDE_ROLES, Role
from trial.selectors import trials_visible_to

from .accounts import account_create
from .activation import activation_checklist
from .forms import (
    AccountCreateForm,
    DelegationGrantForm,
    EndForm,
    MembershipGrantForm,
    SiteRegisterForm,
    SiteStatusForm,
    SiteUpdateForm,
)
from .lifecycle import NEXT_STATUS, site_move_status, site_register, site_update
from .memberships import delegation_end, delegation_grant, membership_end, membership_grant
from .models import Delegation, Membership, SiteStatus
from .pagekit import paged, search_text, submit
from .selectors import (
    delegations_visible_to,
    is_trial_manager,
    memberships_of_people_matching,
    memberships_visible_to,
    roles_at,
    sites_visible_to,
    users_visible_to,
)


def _htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(request, url: str):
    """Redirect, telling htmx to follow it as a whole page."""
    if _htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def require_manager(user, trial) -> None:
    if not is_trial_manager(user, trial):
        raise PermissionDenied("Only the trial manager can do this.")


def single_trial(user):
    trials = list(trials_visible_to(user)[:2])
    if len(trials) != 1:
        raise PermissionDenied("Choose a trial.")
    return trials[0]


def _visible_sites(user):
    return sites_visible_to(user).select_related("trial", "principal_investigator")


@login_required
def site_list(request):
    return render(
        request,
        "sites/site_list.html",
        {
            "sites": _visible_sites(request.user),
            "can_register": is_trial_manager(request.user),
        },
    )


@login_required
def site_detail(request, site_id: int):
    site = get_object_or_404(_visible_sites(request.user), pk=site_id)
    staff = (
        memberships_visible_to(request.user)
        .filter(site=site)
        .prefetch_related(
            Prefetch("delegations", queryset=Delegation.objects.filter(ends_on__isnull=True))
        )
    )
    next_status = NEXT_STATUS.get(site.status)
    is_manager = is_trial_manager(request.user, site.trial)
    return render(
        request,
        "sites/site_detail.html",
        {
            "site": site,
            "steps": site.status_steps.select_related("recorded_by"),
            "staff": staff,
            "is_manager": is_manager,
            "checklist": activation_checklist(site) if is_manager else [],
            "next_status": SiteStatus(next_status) if next_status else None,
            "my_roles": sorted(Role(r).label for r in roles_at(request.user, site)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def site_register_page(request):
    trial = single_trial(request.user)
    require_manager(request.user, trial)
    form = SiteRegisterForm(request.POST or None)
    if request.method == "POST":
        site = submit(
            form, lambda d: site_register(trial=trial, actor=request.user, channel=Channel.WEB, **d)
        )
        if site:
            messages.success(request, f"{site.code} registered as a proposed site.")
            return redirect("site-detail", site_id=site.pk)
    return render(request, "sites/site_form.html", {"form": form, "title": "Register a site"})


@login_required
@require_http_methods(["GET", "POST"])
def site_edit_page(request, site_id: int):
    site = get_object_or_404(_visible_sites(request.user), pk=site_id)
    require_manager(request.user, site.trial)
    pis = (
        get_user_model()
        .objects.filter(
            memberships__in=Membership.objects.filter(
                site=site, role=Role.PRINCIPAL_INVESTIGATOR, ends_on__isnull=True
            )
        )
        .distinct()
    )
    initial = {
        f: getattr(site, f)
        for f in (
            "name",
            "nhs_trust",
            "local_authority",
            "recruitment_target",
            "principal_investigator",
        )
    }
    form = SiteUpdateForm(request.POST or None, initial=initial, pi_choices=pis)
    if request.method == "POST":

        def save(d):
            reason = d.pop("reason", "")
            return site_update(
                site=site, actor=request.user, channel=Channel.WEB, reason=reason, **d
            )

        if submit(form, save):
            messages.success(request, f"{site.code} updated.")
            return redirect("site-detail", site_id=site.pk)
    return render(
        request, "sites/site_form.html", {"form": form, "site": site, "title": f"Edit {site.code}"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def site_status_page(request, site_id: int):
    site = get_object_or_404(_visible_sites(request.user), pk=site_id)
    require_manager(request.user, site.trial)
    next_status = NEXT_STATUS.get(site.status)
    form = SiteStatusForm(request.POST or None, initial={"status": next_status})
    if next_status != SiteStatus.APPROVED:
        # Approval dates belong to the approval step only.
        del form.fields["ethics_approval_date"], form.fields["rnd_approval_date"]
    if request.method == "POST":

        def move(d):
            return site_move_status(
                site=site, actor=request.user, channel=Channel.WEB, to_status=d.pop("status"), **d
            )

        moved = submit(form, move)
        if moved:
            messages.success(request, f"{moved.code} is now {moved.get_status_display().lower()}.")
            return _go(request, reverse("site-detail", args=[site.pk]))
    template = "sites/_site_status_form.html" if _htmx(request) else "sites/site_status.html"
    return render(
        request,
        template,
        {
            "site": site,
            "form": form,
            "next_status": SiteStatus(next_status) if next_status else None,
            "checklist": activation_checklist(site) if next_status == SiteStatus.ACTIVE else [],
        },
    )


# The people page: 50 roles a page, found by the person's name, username or email.
PEOPLE_PER_PAGE = 50
PEOPLE_SEARCH_LENGTH = 100


@login_required
@require_http_methods(["GET", "POST"])
def people_page(request):
    user = request.user
    memberships = memberships_visible_to(user).prefetch_related(
        Prefetch("delegations", queryset=Delegation.objects.filter(ends_on__isnull=True))
    )
    site_filter = request.GET.get("site", "")
    if site_filter.isdigit():
        memberships = memberships.filter(site_id=site_filter)
    if request.GET.get("ended") != "1":
        memberships = memberships.filter(ends_on__isnull=True)
    search = search_text(request, limit=PEOPLE_SEARCH_LENGTH)
    if search:
        memberships = memberships_of_people_matching(memberships, search)
    memberships = memberships.order_by(*Membership._meta.ordering, "pk")
    trial = single_trial(user)
    manager = is_trial_manager(user, trial)
    form = None
    if manager:
        form = MembershipGrantForm(
            request.POST or None,
            users=users_visible_to(user).filter(is_active=True).order_by("username"),
            roles=list(Role),
        )
        form.fields["site"] = _site_field(user)
        if request.method == "POST":

            def grant(d):
                return membership_grant(actor=user, channel=Channel.WEB, trial=trial, **d)

            granted = submit(form, grant)
            if granted:
                messages.success(request, f"{granted} granted.")
                return redirect(reverse("people"))
    elif request.method == "POST":
        raise PermissionDenied("Only the trial manager can grant roles.")
    return render(
        request,
        "sites/people.html",
        {
            "memberships": paged(request, memberships, per_page=PEOPLE_PER_PAGE),
            "search": search,
            "form": form,
            "is_manager": manager,
            "sites": _visible_sites(user),
            "site_filter": site_filter,
            "site_roles": sorted(SITE_ROLES),
            "trial_wide_roles": sorted(TRIAL_WIDE_ROLES),
            "show_ended": request.GET.get("ended") == "1",
        },
    )


def _site_field(user):

    return forms.ModelChoiceField(
        queryset=_visible_sites(user), required=False, help_text="Empty for trial-wide roles"
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_page(request, membership_id: int):
    user = request.user
    membership = get_object_or_404(memberships_visible_to(user), pk=membership_id)
    manager = is_trial_manager(user, membership.trial)
    may_delegate = manager or (
        membership.site is not None
        and Role.PRINCIPAL_INVESTIGATOR in roles_at(user, membership.site)
    )
    grant_form = (
        DelegationGrantForm(
            request.POST if request.POST.get("action") == "delegate" else None,
            duties=membership.delegable_duties,
        )
        if may_delegate and membership.delegable_duties
        else None
    )
    end_form = EndForm(request.POST if request.POST.get("action") == "end" else None)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "delegate" and grant_form is not None:
            if submit(
                grant_form,
                lambda d: delegation_grant(
                    membership=membership, actor=user, channel=Channel.WEB, **d
                ),
            ):
                messages.success(request, "Duty delegated.")
                return redirect("membership", membership_id=membership.pk)
        elif action == "end" and manager:
            if submit(
                end_form,
                lambda d: membership_end(
                    membership=membership, actor=user, channel=Channel.WEB, **d
                ),
            ):
                messages.success(request, "Role ended.")
                return redirect("membership", membership_id=membership.pk)
        else:
            raise PermissionDenied("You cannot change this role.")
    return render(
        request,
        "sites/membership.html",
        {
            "membership": membership,
            "delegations": membership.delegations.select_related("granted_by"),
            "grant_form": grant_form,
            "end_form": end_form if manager else None,
            "may_delegate": may_delegate,
        },
    )


@login_required
@require_POST
def delegation_end_page(request, delegation_id: int):
    delegation = get_object_or_404(delegations_visible_to(request.user), pk=delegation_id)
    form = EndForm(request.POST)
    ended = submit(
        form,
        lambda d: delegation_end(
            delegation=delegation, actor=request.user, channel=Channel.WEB, **d
        ),
    )
    if ended is None:
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        if _htmx(request):
            return render(
                request,
                "sites/_delegation_row.html",
                {"d": delegation, "may_delegate": True, "error": error},
            )
        messages.error(request, error)
    elif _htmx(request):
        return render(request, "sites/_delegation_row.html", {"d": ended, "may_delegate": True})
    return redirect("membership", membership_id=delegation.membership_id)


@login_required
@require_http_methods(["GET", "POST"])
def account_create_page(request):
    trial = single_trial(request.user)
    require_manager(request.user, trial)
    form = AccountCreateForm(request.POST or None)
    if request.method == "POST":
        created = submit(
            form,
            lambda d: account_create(actor=request.user, channel=Channel.WEB, trial=trial, **d),
        )
        if created:
            messages.success(request, f"Account {created.username} created; now grant a role.")
            return redirect("people")
    return render(request, "sites/site_form.html", {"form": form, "title": "Create an account"})

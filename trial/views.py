"""Pages for the screening log, enrolment, families, consent and withdrawal. Thin: the
selectors read, the services write and check."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.channels import Channel
from core.clock import today
from core.errors import NotPermitted, TrialError
from core.roles import Duty, Role
from randomisation.concealment import deviations_shown_to, families_shown_to
from safety.selectors import safety_events_visible_to
from sites.models import Site
from sites.pagekit import paged, search_text, submit
from sites.permissions import require_duty
from sites.selectors import is_trial_manager, roles_at, sites_visible_to, sites_where

from .collection import collection_status, families_needing_reconsent
from .config import config_of, words_of
from .consents import ConsentIn, consent_record, consent_version_activate, consent_version_create
from .deviations import RECORDERS, blinded_assessor_needed, deviation_review
from .enrolment import ContactIn, PersonIn, family_enrol, identity_view, withdrawal_record
from .forms import (
    ConsentForm,
    ConsentVersionForm,
    EnrolForm,
    ScreeningCloseForm,
    ScreeningForm,
    VersionActivateForm,
    WithdrawalForm,
)
from .lookup import search_checked
from .models import ConsentVersion
from .screening import screening_close, screening_record
from .selectors import (
    families_visible_to,
    may_see_identity,
    screenings_visible_to,
    trials_visible_to,
)


def _single_trial(user):
    trials = list(trials_visible_to(user)[:2])
    if len(trials) != 1:
        raise PermissionDenied("Choose a trial.")
    return trials[0]


def _coordinated_sites(user):
    return sites_where(user, roles={Role.SITE_COORDINATOR})


def _takers(site: Site):
    """Staff with the consent duty open at the site today (the form's choices; the service
    checks the duty on the date of consent)."""
    return (
        get_user_model()
        .objects.filter(
            memberships__site=site,
            memberships__delegations__duty=Duty.TAKE_CONSENT,
            memberships__delegations__ends_on__isnull=True,
        )
        .distinct()
        .order_by("username")
    )


def _versions(site: Site):
    return ConsentVersion.objects.filter(sites__site=site).order_by("-ethics_approval_date")


@login_required
@require_GET
def screening_list(request):
    records = screenings_visible_to(request.user).select_related("family", "site")
    site = request.GET.get("site", "")
    if site.isdigit():
        records = records.filter(site_id=site)
    search, search_error = search_checked(search_text(request))
    if search and not search_error:
        records = records.filter(identifier__icontains=search)
    trials = list(trials_visible_to(request.user)[:2])
    words = words_of(config_of(trials[0])) if len(trials) == 1 else {}
    return render(
        request,
        "trial/screening_list.html",
        {
            "words": words,
            "records": paged(request, records),
            "search": search,
            "search_error": search_error,
            "sites": sites_visible_to(request.user),
            "site_filter": site,
            "can_screen": _coordinated_sites(request.user).exists(),
        },
        status=400 if search_error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def screening_new(request):
    sites = _coordinated_sites(request.user).filter(status="active")
    if not sites.exists():
        raise PermissionDenied("Only the coordinators of an active site screen referrals.")
    config = config_of(_single_trial(request.user))
    form = ScreeningForm(
        request.POST or None,
        config=config,
        sites=sites,
        initial={"referral_date": today(), "site": sites.first()},
    )
    if request.method == "POST":
        record = submit(
            form,
            lambda d: screening_record(
                site=d["site"], actor=request.user, channel=Channel.WEB, **form.service_fields()
            ),
            fields=ScreeningForm.form_field,
        )
        if record:
            messages.success(request, f"{record.identifier}: {record.get_outcome_display()}.")
            return redirect("screening-detail", screening_id=record.pk)
    return render(request, "trial/screening_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def screening_detail(request, screening_id: int):
    record = get_object_or_404(screenings_visible_to(request.user), pk=screening_id)
    config = config_of(record.trial)
    coordinator = record.site in _coordinated_sites(request.user)
    close_form = ScreeningCloseForm(request.POST or None, config=config)
    if request.method == "POST":
        closed = submit(
            close_form,
            lambda d: screening_close(
                screening=record, actor=request.user, channel=Channel.WEB, **d
            ),
        )
        if closed:
            messages.success(
                request, f"{closed.identifier} closed: {closed.get_outcome_display().lower()}."
            )
            return redirect("screening-detail", screening_id=record.pk)
    criteria = [(c, record.answers.get(c.key)) for c in config.eligibility.criteria]
    return render(
        request,
        "trial/screening_detail.html",
        {
            "record": record,
            "criteria": criteria,
            "close_form": close_form,
            "coordinator": coordinator,
            "config": config,
            "words": words_of(config),
            "failed_text": words_of(config)["criteria"].get(record.failed_criterion, ""),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def screening_enrol(request, screening_id: int):
    record = get_object_or_404(screenings_visible_to(request.user), pk=screening_id)
    if record.site not in _coordinated_sites(request.user):
        raise PermissionDenied("Only the site's coordinators enrol families.")
    config = config_of(record.trial)
    form = EnrolForm(
        request.POST or None,
        config=config,
        versions=_versions(record.site),
        takers=_takers(record.site),
        initial={
            "consent_date": today(),
            "taken_by": request.user,
            "p1_parental_responsibility": True,
        },
    )

    def enrol(d):
        parents = [
            PersonIn(
                given_name=d["p1_given_name"],
                family_name=d["p1_family_name"],
                date_of_birth=d["p1_date_of_birth"],
                nhs_number=d["p1_nhs_number"],
                relationship=d["p1_relationship"],
                parental_responsibility=d["p1_parental_responsibility"],
            )
        ]
        if d["add_parent_2"]:
            parents.append(
                PersonIn(
                    given_name=d["p2_given_name"],
                    family_name=d["p2_family_name"],
                    date_of_birth=d["p2_date_of_birth"],
                    nhs_number=d["p2_nhs_number"],
                    relationship=d["p2_relationship"],
                    parental_responsibility=d["p2_parental_responsibility"],
                )
            )
        return family_enrol(
            screening=record,
            actor=request.user,
            channel=Channel.WEB,
            legal_status=d["legal_status"],
            child=PersonIn(
                given_name=d["child_given_name"],
                family_name=d["child_family_name"],
                nhs_number=d["child_nhs_number"],
            ),
            parents=parents,
            contact=ContactIn(
                address=d["address"],
                phone=d["phone"],
                social_worker_name=d["social_worker_name"],
                social_worker_contact=d["social_worker_contact"],
            ),
            consents=[(1, ConsentIn(**form.consent_values()))],
        )

    if request.method == "POST":
        family = submit(form, enrol, fields=EnrolForm.form_field)
        if family:
            messages.success(request, f"Enrolled as {family.identifier}.")
            return redirect("family-detail", family_id=family.pk)
    return render(request, "trial/enrol_form.html", {"form": form, "record": record})


@login_required
@require_GET
def family_list(request):
    families = families_visible_to(request.user).prefetch_related("withdrawals", "consents")
    coordinated = _coordinated_sites(request.user)
    search, search_error = search_checked(search_text(request))
    shown = (
        families.filter(identifier__icontains=search) if search and not search_error else families
    )
    return render(
        request,
        "trial/family_list.html",
        {
            "families": paged(request, shown),
            "search": search,
            "search_error": search_error,
            # Withdrawal levels in words, of the trials the viewer takes part in.
            "withdrawal_levels": {
                key: label
                for trial in trials_visible_to(request.user)
                for key, label in words_of(config_of(trial))["withdrawal_levels"].items()
            },
            "reconsent": families_needing_reconsent(families.filter(site__in=coordinated))
            if coordinated.exists()
            else [],
        },
        status=400 if search_error else 200,
    )


FAMILY_DONE = {
    "consent": "Consent recorded.",
    "withdraw": "Withdrawal recorded. What may be collected from now on is shown below.",
    "review_deviation": "Review of the deviation recorded.",
}


@login_required
@require_http_methods(["GET", "POST"])
def family_detail(request, family_id: int):
    family = get_object_or_404(
        families_shown_to(request.user, families_visible_to(request.user)), pk=family_id
    )
    config = config_of(family.trial)
    coordinator = may_see_identity(request.user, family.site)
    parents = list(family.participants.filter(role="parent"))
    action = request.POST.get("action")
    consent_form = ConsentForm(
        request.POST if action == "consent" else None,
        config=config,
        versions=_versions(family.site),
        takers=_takers(family.site),
        parents=parents,
        prefix="consent",
        initial={"consent_date": today(), "taken_by": request.user},
    )
    withdrawal_form = WithdrawalForm(
        request.POST if action == "withdraw" else None,
        config=config,
        prefix="withdraw",
        initial={"withdrawal_date": today()},
    )
    if request.method == "POST":
        done = None
        if action == "consent":
            done = submit(
                consent_form,
                lambda d: consent_record(
                    family=family,
                    parent=next(p for p in parents if p.number == d["parent"]),
                    actor=request.user,
                    channel=Channel.WEB,
                    given=ConsentIn(**consent_form.consent_values()),
                ),
                fields=ConsentForm.form_field,
            )
        elif action == "withdraw":
            done = submit(
                withdrawal_form,
                lambda d: withdrawal_record(
                    family=family, actor=request.user, channel=Channel.WEB, **d
                ),
            )
        elif action == "review_deviation":
            chosen = request.POST.get("deviation", "")
            deviation = get_object_or_404(
                deviations_shown_to(request.user, family.deviations.all()),
                pk=int(chosen) if chosen.isdigit() else 0,
            )
            try:
                done = deviation_review(
                    deviation=deviation,
                    actor=request.user,
                    channel=Channel.WEB,
                    note=request.POST.get("note", ""),
                )
            except NotPermitted as exc:
                raise PermissionDenied(exc.message) from exc
            except TrialError as exc:
                messages.error(request, exc.message)
        if done:
            messages.success(request, FAMILY_DONE[action])
            return redirect("family-detail", family_id=family.pk)
    levels = {w.key: w.label for w in config.withdrawal_levels}
    arm_label = config.randomisation.arms.get(family.shown_arm) if family.shown_arm else None
    return render(
        request,
        "trial/family_detail.html",
        {
            "family": family,
            "arm_label": arm_label,
            "coordinator": coordinator,
            "consents": family.consents.select_related("participant", "version", "taken_by"),
            "withdrawals": [
                (w, levels.get(w.level, w.level))
                for w in family.withdrawals.select_related("recorded_by")
            ],
            "status": collection_status(family),
            "sources": config.data_sources,
            "legal_status": config.legal_statuses.get(family.legal_status, family.legal_status),
            "consent_form": consent_form if coordinator else None,
            "withdrawal_form": withdrawal_form if coordinator else None,
            "items": {i.key: i.label for i in config.consent_items},
            "deviations": deviations_shown_to(request.user, family.deviations.all()).select_related(
                "recorded_by", "reviewed_by"
            ),
            "may_review": is_trial_manager(request.user, family.trial),
            "may_record_deviation": bool(roles_at(request.user, family.site) & RECORDERS),
            "assessor_needed": blinded_assessor_needed(family),
            "safety_events": safety_events_visible_to(request.user)
            .filter(family=family)
            .order_by("-aware_at"),
            "may_report_safety": bool(roles_at(request.user, family.site) & SAFETY_REPORTERS)
            and may_enter_data(request.user, family.site),
        },
    )


# Who reports a safety event for a family (the safety form's own entrants, with the duty).
SAFETY_REPORTERS = {Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR}


def may_enter_data(user, site) -> bool:
    try:
        require_duty(user, site=site, duty=Duty.ENTER_DATA, on=today())
    except NotPermitted:
        return False
    return True


@login_required
@require_GET
def family_identity(request, family_id: int):
    family = get_object_or_404(families_visible_to(request.user), pk=family_id)
    if not may_see_identity(request.user, family.site):
        raise PermissionDenied("Only the coordinators of the family's site see identifying data.")
    return render(
        request,
        "trial/_identity.html",
        {"identity": identity_view(family=family, actor=request.user, channel=Channel.WEB)},
    )


VERSION_DONE = {
    "create": "Consent version published. Put it in use at each site when approved there.",
    "activate": "Consent version in use at the site from the date given.",
}


@login_required
@require_http_methods(["GET", "POST"])
def consent_versions(request):
    trial = _single_trial(request.user)
    config = config_of(trial)
    manager = is_trial_manager(request.user, trial)
    versions = ConsentVersion.objects.filter(trial=trial).prefetch_related("sites__site")
    action = request.POST.get("action")
    create_form = ConsentVersionForm(request.POST if action == "create" else None, config=config)
    activate_form = VersionActivateForm(
        request.POST if action == "activate" else None,
        versions=versions,
        sites=sites_visible_to(request.user),
    )
    if request.method == "POST":
        if not manager:
            raise PermissionDenied("Only the trial manager publishes consent versions.")
        done = None
        if action == "create":
            done = submit(
                create_form,
                lambda d: consent_version_create(
                    trial=trial, actor=request.user, channel=Channel.WEB, **d
                ),
            )
        elif action == "activate":
            done = submit(
                activate_form,
                lambda d: consent_version_activate(actor=request.user, channel=Channel.WEB, **d),
            )
        if done:
            messages.success(request, VERSION_DONE[action])
            return redirect("consent-versions")
    visible = set(sites_visible_to(request.user).values_list("pk", flat=True))
    return render(
        request,
        "trial/consent_versions.html",
        {
            "versions": [(v, [s for s in v.sites.all() if s.site_id in visible]) for v in versions],
            "manager": manager,
            "create_form": create_form,
            "activate_form": activate_form,
            "items": {i.key: i.label for i in config.consent_items},
        },
    )

"""Pages of the protocol deviation log: the list with its filters and CSV, one deviation
with its review and serious-breach steps (each step its own URL), and recording one for a
family. Thin: the selectors read (scoped by site, shaped for the blinded), the services
write and check."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.channels import Channel
from core.clock import today
from core.csvfile import csv_download, csv_lines
from core.errors import TrialError
from core.roles import Role
from dataset.selectors import deviations_visible_to
from sites.forms import DateInput
from sites.pagekit import paged, submit
from sites.selectors import roles_at, sites_visible_to

from .deviation_log import CSV_HEADER, DeviationFilter, csv_rows
from .deviations import (
    BREACH_OWNERS,
    RECORDERS,
    deviation_breach_reported,
    deviation_flag_breach,
    deviation_record,
    deviation_review,
    kinds_logged,
)
from .models import ProtocolDeviation
from .selectors import families_visible_to

YES_NO = [("", "Either"), ("yes", "Yes"), ("no", "No")]


class DeviationForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of deviation")
    severity = forms.ChoiceField(
        choices=ProtocolDeviation.Severity.choices, widget=forms.RadioSelect
    )
    occurred_on = forms.DateField(label="Date it happened", widget=DateInput)
    description = forms.CharField(
        label="What happened", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    corrective_action = forms.CharField(
        label="Corrective action",
        help_text="what was done to put it right",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=4000,
    )
    preventive_action = forms.CharField(
        label="Preventive action",
        help_text="what will stop it happening again",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=4000,
    )
    possible_serious_breach = forms.BooleanField(
        label="This may be a serious breach",
        help_text="it must then be reported to the sponsor within 7 days",
        required=False,
    )
    person = forms.ModelChoiceField(
        label="The assessor who learned the arm",
        help_text="for an assessor unblinded only",
        queryset=None,
        required=False,
    )

    def __init__(self, *args, kinds: list[str], assessors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Choose")] + [
            (k, ProtocolDeviation.Kind(k).label) for k in kinds
        ]
        self.fields["person"].queryset = assessors
        self.fields["person"].label_from_instance = lambda u: u.get_full_name() or u.username


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="What the review found or decided",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
    )


class BreachFlagForm(forms.Form):
    reason = forms.CharField(
        label="Why this may be a serious breach",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
    )


class BreachReportedForm(forms.Form):
    reported_on = forms.DateField(
        label="Date reported to the sponsor and ethics committee", widget=DateInput
    )


def _filtered(request):
    """The viewer's deviations narrowed by the page's filters, and the filters' error."""
    found = deviations_visible_to(request.user).order_by("-occurred_on", "-pk")
    try:
        return DeviationFilter.from_params(request.GET).apply(found), None
    except TrialError as exc:
        return found.none(), exc


@login_required
@require_GET
def deviation_log(request):
    found, error = _filtered(request)
    if request.GET.get("format") == "csv" and error is None:
        return csv_download(csv_lines(CSV_HEADER, csv_rows(found)), filename="deviations.csv")
    return render(
        request,
        "trial/deviations.html",
        {
            "deviations": paged(request, found),
            "error": error,
            "sites": sites_visible_to(request.user).order_by("code"),
            "kinds": ProtocolDeviation.Kind.choices,
            "severities": ProtocolDeviation.Severity.choices,
            "yes_no": YES_NO,
            "chosen": {name: request.GET.get(name, "") for name in DeviationFilter.__annotations__},
            "query": request.GET.urlencode(),
            "now": timezone.now(),
        },
        status=400 if error else 200,
    )


def _deviation(request, deviation_id: int) -> ProtocolDeviation:
    return get_object_or_404(deviations_visible_to(request.user), pk=deviation_id)


def _detail(request, deviation, *, status=200, **form_overrides):
    trial_roles = roles_at(request.user, deviation.family.site)
    owner = bool(trial_roles & BREACH_OWNERS)
    context = {
        "d": deviation,
        "now": timezone.now(),
        "overdue": deviation.breach_overdue(timezone.now()),
        "may_review": Role.TRIAL_MANAGER in trial_roles and deviation.reviewed_at is None,
        "may_flag": owner and not deviation.possible_serious_breach,
        "may_report": owner
        and deviation.possible_serious_breach
        and deviation.breach_reported_on is None,
        "review_form": ReviewForm(),
        "flag_form": BreachFlagForm(),
        "report_form": BreachReportedForm(initial={"reported_on": today()}),
    }
    context.update(form_overrides)
    return render(request, "trial/deviation_detail.html", context, status=status)


@login_required
@require_GET
def deviation_detail(request, deviation_id: int):
    return _detail(request, _deviation(request, deviation_id))


def _step(request, deviation_id: int, form_class, name: str, service, done: str):
    deviation = _deviation(request, deviation_id)
    form = form_class(request.POST)
    saved = submit(
        form,
        lambda d: service(deviation=deviation, actor=request.user, channel=Channel.WEB, **d),
    )
    if saved:
        messages.success(request, done)
        return redirect("deviation-detail", deviation_id=deviation.pk)
    return _detail(request, deviation, status=400, **{name: form})


@login_required
@require_POST
def deviation_review_page(request, deviation_id: int):
    return _step(
        request, deviation_id, ReviewForm, "review_form", deviation_review, "Review recorded."
    )


@login_required
@require_POST
def deviation_breach_page(request, deviation_id: int):
    return _step(
        request,
        deviation_id,
        BreachFlagForm,
        "flag_form",
        deviation_flag_breach,
        "Flagged as a possible serious breach: report it within 7 days.",
    )


@login_required
@require_POST
def deviation_breach_reported_page(request, deviation_id: int):
    return _step(
        request,
        deviation_id,
        BreachReportedForm,
        "report_form",
        deviation_breach_reported,
        "The report of the breach is recorded.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def deviation_new(request, family_id: int):
    family = get_object_or_404(families_visible_to(request.user), pk=family_id)
    if not roles_at(request.user, family.site) & RECORDERS:
        raise PermissionDenied("Your role does not record deviations at this site.")
    assessors = (
        get_user_model()
        .objects.filter(
            memberships__site=family.site,
            memberships__role=Role.OUTCOME_ASSESSOR,
            memberships__ends_on__isnull=True,
        )
        .distinct()
        .order_by("username")
    )
    form = DeviationForm(
        request.POST or None,
        kinds=kinds_logged(family),
        assessors=assessors,
        initial={"occurred_on": today(), "severity": ProtocolDeviation.Severity.MINOR},
    )
    if request.method == "POST":
        saved = submit(
            form,
            lambda d: deviation_record(family=family, actor=request.user, channel=Channel.WEB, **d),
        )
        if saved:
            messages.success(request, "Deviation recorded.")
            return redirect("deviation-detail", deviation_id=saved.pk)
    return render(
        request,
        "trial/deviation_form.html",
        {"family": family, "form": form},
        status=400 if form.errors else 200,
    )

"""Pages: randomising a family, and the statisticians' lists and design report."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from core.channels import Channel
from core.clock import today
from core.errors import TrialError
from core.roles import Role
from sites.models import Site, SiteStatus
from sites.pagekit import submit
from sites.selectors import open_memberships
from trial.config import config_of
from trial.selectors import families_visible_to, trials_visible_to

from .algorithms import check_design
from .design import design_for
from .export import list_csv_response
from .factor_kinds import put_right_at
from .factors import factor_values, factor_words
from .plot import imbalance_svg
from .preconditions import preconditions
from .report import GUESSER_HINTS, GUESSER_LABELS, METHODS, WHY_GUESSER, compare, rows
from .selectors import allocations_visible_to, is_unblinded_statistician, lists_visible_to
from .services import family_randomise, randomisation_go_live, sequence_generate, sequence_seal


def _refusal(family, exc: TrialError, place: str | None = None) -> dict:
    """Why the family cannot be randomised yet, with a link to where that is put right: the
    place the refusal names (a missing factor: where its kind says it is recorded)."""
    casebook = reverse("crf-casebook", args=[family.pk]) + "#visit-baseline"
    family_page = (reverse("family-detail", args=[family.pk]), "See the family")
    where = {
        "baseline": (casebook, "Go to the baseline forms in the casebook"),
        "consent": (reverse("family-detail", args=[family.pk]), "Record the consent"),
        "screening": (
            reverse("screening-detail", args=[family.screening_id]),
            "See the screening record",
        ),
        "site": (reverse("site-detail", args=[family.site_id]), "See the site's status"),
    }.get(place or exc.field or "", family_page)
    return {"text": exc.message, "url": where[0], "action": where[1]}


@login_required
@require_http_methods(["GET", "POST"])
def randomise_page(request, family_id: int):
    """A confirmation step showing the factor values, then the allocation."""
    family = get_object_or_404(families_visible_to(request.user), pk=family_id)
    if (
        not open_memberships(request.user)
        .filter(site=family.site, role=Role.SITE_COORDINATOR)
        .exists()
    ):
        raise PermissionDenied("Only the site's coordinators randomise.")
    if request.method == "POST":
        try:
            allocation = family_randomise(family=family, actor=request.user, channel=Channel.WEB)
        except TrialError as exc:
            messages.error(request, exc.message)
            return redirect("family-randomise", family_id=family.pk)
        return redirect("allocation-result", family_id=family.pk, allocation_id=allocation.pk)
    problems, values = [], {}
    for check in preconditions():
        try:
            check(family, today())
        except TrialError as exc:
            problems.append(_refusal(family, exc))
    try:
        values = factor_values(family, today())
    except TrialError as exc:
        problems.append(_refusal(family, exc, put_right_at(family.trial, exc.field)))
    return render(
        request,
        "randomisation/confirm.html",
        {"family": family, "problems": problems, "values": factor_words(family, values)},
    )


@login_required
@require_GET
def allocation_result(request, family_id: int, allocation_id: int):
    family = get_object_or_404(families_visible_to(request.user), pk=family_id)
    allocation = get_object_or_404(
        allocations_visible_to(request.user).filter(family=family), pk=allocation_id
    )
    if allocation.shown_arm is None:
        raise PermissionDenied("The allocation is concealed from you.")
    arms = config_of(family.trial).randomisation.arms
    return render(
        request,
        "randomisation/result.html",
        {"family": family, "allocation": allocation, "arm_label": arms.get(allocation.shown_arm)},
    )


class GenerateForm(forms.Form):
    mode = forms.ChoiceField(choices=[("test", "Test (dummy list)"), ("live", "Live")])
    length = forms.IntegerField(
        min_value=1, max_value=10_000, initial=60, help_text="slots per stratum"
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        empty_label="Every site",
        help_text="one site's strata only: for a site that joins once randomisation is live",
    )

    def __init__(self, *args, trial=None, minimising=False, **kwargs):
        super().__init__(*args, **kwargs)
        if minimising:  # one seed covers every site; there is no list to size
            del self.fields["length"], self.fields["site"]
        elif trial is not None:
            self.fields["site"].queryset = Site.objects.filter(trial=trial).exclude(
                status__in=[SiteStatus.CLOSED_TO_RECRUITMENT, SiteStatus.CLOSED]
            )


class ReportForm(forms.Form):
    block_sizes = forms.CharField(
        initial="2,4,6", required=False, help_text="permuted blocks; empty: the trial's own"
    )
    strata = forms.IntegerField(
        min_value=1, max_value=500, required=False, help_text="empty: the trial's own factors"
    )
    p = forms.FloatField(
        min_value=0.5,
        max_value=1,
        initial=0.8,
        required=False,
        help_text="minimisation's chance of the preferred arm; empty: the trial's own",
    )
    families = forms.IntegerField(min_value=1, max_value=1000, initial=150)
    runs = forms.IntegerField(min_value=1, max_value=500, initial=200)
    seed = forms.IntegerField(min_value=0, initial=20261126)

    # Both methods are simulated in the request: families x runs is bounded so that a report
    # stays a page (a few seconds); the command has no such bound.
    MAX_WORK = 100_000

    def clean_block_sizes(self):
        text = self.cleaned_data["block_sizes"] or ""
        try:
            return tuple(int(x) for x in text.split(",") if x.strip()) or None
        except ValueError as exc:
            raise forms.ValidationError("Whole numbers separated by commas, e.g. 2,4,6.") from exc

    def clean(self):
        data = super().clean()
        families, runs = data.get("families"), data.get("runs")
        if families and runs and families * runs > self.MAX_WORK:
            self.add_error(
                "runs",
                f"Families times runs can be at most {self.MAX_WORK:,} here "
                f"({families} families allow {self.MAX_WORK // families} runs). "
                "Run larger reports from the command line.",
            )
        return data


def _statistician_trial(user):
    trials = list(trials_visible_to(user)[:2])
    roles = set(open_memberships(user).values_list("role", flat=True))
    if len(trials) != 1 or not roles & {Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}:
        raise PermissionDenied("For statisticians.")
    return trials[0]


DONE_MESSAGES = {
    "generate": "Generated. Check it, then seal it: only a sealed list or seed allocates.",
    "seal": "List sealed: it can no longer change.",
    "live": "Randomisation is live: families are now allocated from the sealed list.",
}


@login_required
@require_http_methods(["GET", "POST"])
def statistics_page(request):
    trial = _statistician_trial(request.user)
    unblinded = is_unblinded_statistician(request.user, trial)
    design = config_of(trial).randomisation
    minimising = design is not None and design.method == "minimisation"
    generate_form = GenerateForm(
        request.POST if request.POST.get("action") == "generate" else None,
        trial=trial,
        minimising=minimising,
    )
    if request.method == "POST":
        if not unblinded:
            raise PermissionDenied("Only the unblinded statistician manages lists.")
        action, done = request.POST.get("action"), None
        if action == "generate":
            done = submit(
                generate_form,
                lambda d: sequence_generate(
                    trial=trial, actor=request.user, channel=Channel.WEB, **d
                ),
            )
        elif action in ("seal", "live"):
            try:
                if action == "seal":
                    list_id = request.POST.get("list", "")
                    rlist = get_object_or_404(
                        lists_visible_to(request.user), pk=int(list_id) if list_id.isdigit() else 0
                    )
                    done = sequence_seal(rlist=rlist, actor=request.user, channel=Channel.WEB)
                else:
                    done = randomisation_go_live(
                        trial=trial, actor=request.user, channel=Channel.WEB
                    )
            except TrialError as exc:
                messages.error(request, exc.message)
        if done:
            messages.success(request, DONE_MESSAGES[action])
            return redirect("statistics")
    report, plot, defined_method = None, "", None
    report_form = ReportForm(request.GET or None)
    if report_form.is_bound and report_form.is_valid():
        d = report_form.cleaned_data
        try:
            designs = {
                method: design_for(
                    trial, method=method, block_sizes=d["block_sizes"], strata=d["strata"], p=d["p"]
                )
                for method in METHODS
            }
            check_design(
                designs["blocks"].arms, designs["blocks"].ratio, designs["blocks"].block_sizes
            )
            report = compare(
                designs["blocks"],
                designs["minimisation"],
                families=d["families"],
                runs=d["runs"],
                seed=d["seed"],
            )
            plot = imbalance_svg(
                {label: report[method]["p_abs_imbalance_ge"] for method, label in METHODS.items()}
            )
            defined_method = METHODS.get(config_of(trial).randomisation.method)
        except ValueError as exc:
            report_form.add_error("block_sizes", str(exc))
    return render(
        request,
        "randomisation/statistics.html",
        {
            "trial": trial,
            "unblinded": unblinded,
            "generate_form": generate_form,
            "minimising": minimising,
            "lists": lists_visible_to(request.user) if unblinded else [],
            "report_form": report_form,
            "report": report,
            "methods": METHODS,
            "rows": rows(report) if report else [],
            "guessers": [(GUESSER_LABELS[g], GUESSER_HINTS[g]) for g in GUESSER_LABELS],
            "why_guesser": [(METHODS[m], WHY_GUESSER[m]) for m in METHODS],
            "plot": plot,
            "defined_method": defined_method,
            "recommended": METHODS.get(report["recommendation"]["method"]) if report else None,
        },
    )


@login_required
@require_GET
def list_export(request, list_id: int):
    rlist = get_object_or_404(lists_visible_to(request.user), pk=list_id)
    try:
        return list_csv_response(rlist=rlist, actor=request.user, channel=Channel.WEB)
    except TrialError as exc:
        raise PermissionDenied(exc.message) from exc

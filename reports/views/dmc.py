"""The DMC report pages: the reports the viewer may see with the buttons to generate them,
a report's progress while its job runs, and its PDF."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.channels import Channel
from core.errors import NotPermitted, TrialError
from sites.pagekit import paged
from trial.selectors import trial_named

from ..dmc import dmc_report_download, dmc_report_request, dmc_reports_visible_to, may_generate
from ..models import DmcReport


def _trial(request, params):
    try:
        return trial_named(request.user, (params.get("trial") or "").strip()[:6] or None)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc


def _list(request, trial, *, problem: str = "", status: int = 200):
    user = request.user
    context = {"trial": trial, "problem": problem}
    if trial is not None:
        visible = dmc_reports_visible_to(user).filter(trial=trial)
        context |= {
            "reports": paged(request, visible, per_page=25),
            "may_open": may_generate(user, trial, DmcReport.Part.OPEN),
            "may_closed": may_generate(user, trial, DmcReport.Part.CLOSED),
        }
    return render(request, "reports/dmc_list.html", context, status=status)


@login_required
@require_GET
def dmc_reports_page(request):
    try:
        trial = _trial(request, request.GET)
    except TrialError as exc:
        return _list(request, None, problem=exc.message, status=400)
    return _list(request, trial)


@login_required
@require_POST
def dmc_report_create(request):
    try:
        trial = _trial(request, request.POST)
    except TrialError as exc:
        return _list(request, None, problem=exc.message, status=400)
    try:
        report = dmc_report_request(
            trial=trial,
            actor=request.user,
            channel=Channel.WEB,
            part=(request.POST.get("part") or "").strip()[:10],
        )
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        return _list(request, trial, problem=exc.message, status=400)
    return redirect("dmc-report", report_id=report.pk)


@login_required
@require_GET
def dmc_report_page(request, report_id: int):
    report = get_object_or_404(dmc_reports_visible_to(request.user), pk=report_id)
    partial = request.headers.get("HX-Request") == "true"
    template = "reports/_dmc_progress.html" if partial else "reports/dmc_detail.html"
    return render(request, template, {"report": report})


@login_required
@require_GET
def dmc_report_file(request, report_id: int):
    report = get_object_or_404(dmc_reports_visible_to(request.user), pk=report_id)
    try:
        path = dmc_report_download(report=report, actor=request.user, channel=Channel.WEB)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        return render(
            request,
            "reports/dmc_detail.html",
            {"report": report, "problem": exc.message},
            status=409,
        )
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=path.name,
        content_type="application/pdf",
    )

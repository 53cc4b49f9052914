"""The export pages: ask for a bundle, watch the job's progress, download it.
For the statisticians."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.channels import Channel
from core.errors import NotPermitted, TrialError
from sites.pagekit import submit
from sites.selectors import roles_at
from trial.config import config_of
from trial.selectors import trials_visible_to

from .exporting import export_download, export_request, may_export_unblinded
from .forms import ExportForm
from .selectors import exports_visible_to
from .services import STATISTICIANS


def _trial(user):
    trials = list(trials_visible_to(user)[:2])
    if len(trials) != 1 or not roles_at(user, None, trial=trials[0]) & STATISTICIANS:
        raise PermissionDenied("For the statisticians.")
    return trials[0]


@login_required
@require_http_methods(["GET", "POST"])
def exports_page(request):
    user = request.user
    trial = _trial(user)
    form = ExportForm(
        request.POST if request.method == "POST" else None,
        unblinded=may_export_unblinded(user, trial),
        populations=config_of(trial).analysis.populations,
    )
    if request.method == "POST":
        export = submit(
            form,
            lambda d: export_request(
                trial=trial,
                actor=user,
                channel=Channel.WEB,
                blinded=d["kind"] == "blinded",
                interim=d["interim"],
                population=d["population"],
            ),
        )
        if export is not None:
            return redirect("export", export_id=export.pk)
    return render(
        request,
        "dataset/exports.html",
        {
            "trial": trial,
            "form": form,
            "exports": exports_visible_to(user).filter(trial=trial)[:50],
        },
    )


@login_required
@require_GET
def export_page(request, export_id: int):
    export = get_object_or_404(exports_visible_to(request.user), pk=export_id)
    partial = request.headers.get("HX-Request") == "true"
    template = "dataset/_export_progress.html" if partial else "dataset/export.html"
    return render(request, template, {"export": export})


@login_required
@require_GET
def export_file(request, export_id: int):
    export = get_object_or_404(exports_visible_to(request.user), pk=export_id)
    try:
        path = export_download(export=export, actor=request.user, channel=Channel.WEB)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        return render(
            request, "dataset/export.html", {"export": export, "problem": exc.message}, status=409
        )
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{export.bundle_id}.zip",
        content_type="application/zip",
    )

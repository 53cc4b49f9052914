"""The primary outcome so far, by arm: the page, for the unblinded statistician only; anyone
else is refused (403) in plain words."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.errors import NotPermitted

from ..outcome import outcome_of
from .balance import csv_link
from .common import refused, scoped

PAGE = "reports/outcome.html"
DATES = "Randomised"


@login_required
@require_GET
def outcome_page(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    try:
        report = outcome_of(scope)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    context = {
        "scope": scope,
        "report": report,
        "filter": shown,
        "filter_dates": DATES,
        "downloads": {"csv": csv_link("api-report-outcome-csv", scope)},
    }
    return render(request, PAGE, context)

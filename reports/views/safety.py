"""Serious adverse events: the page. Pooled for every viewer; by arm, with relatedness and
expectedness, for the closed report's reader only (the selector decides)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..adverse_events import adverse_events_of
from .balance import csv_link
from .common import refused, scoped

PAGE = "reports/safety.html"
DATES = "Event dates"


@login_required
@require_GET
def safety_page(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    context = {
        "scope": scope,
        "report": adverse_events_of(scope),
        "filter": shown,
        "filter_dates": DATES,
        "downloads": {"csv": csv_link("api-report-safety-csv", scope)},
    }
    return render(request, PAGE, context)

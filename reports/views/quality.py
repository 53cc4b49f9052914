"""Data quality: the page. Thin: the figures are the report's selector, pooled over the arms
for every viewer, with the forms that reveal the arm left out for a blinded one."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..quality import quality_of
from .common import refused, scoped

PAGE = "reports/quality.html"
DATES = "Randomised"


@login_required
@require_GET
def quality_page(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    query = urlencode(scope.filters())
    context = {
        "scope": scope,
        "report": quality_of(scope),
        "filter": shown,
        "filter_dates": DATES,
        "downloads": {
            "csv": reverse("api-report-quality-csv") + (f"?{query}" if query else ""),
        },
    }
    return render(request, PAGE, context)

"""Baseline balance: the page. Thin: the figures are the report's selector, pooled or by arm
as the viewer's scope allows."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..balance import balance_of
from .common import refused, scoped

PAGE = "reports/balance.html"
DATES = "Randomised"


def csv_link(name: str, scope) -> str:
    query = urlencode(scope.filters())
    return reverse(name) + (f"?{query}" if query else "")


@login_required
@require_GET
def balance_page(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    context = {
        "scope": scope,
        "report": balance_of(scope),
        "filter": shown,
        "filter_dates": DATES,
        "downloads": {"csv": csv_link("api-report-balance-csv", scope)},
    }
    return render(request, PAGE, context)

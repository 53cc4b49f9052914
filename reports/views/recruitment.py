"""Recruitment: the page and its chart as an SVG download. Thin: the figures are the report's
selector, pooled over the arms for every viewer."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..recruitment import recruitment_of
from .common import refused, scoped

PAGE = "reports/recruitment.html"
DATES = "Dates"


def _downloads(scope) -> dict[str, str]:
    query = urlencode(scope.filters())
    suffix = f"?{query}" if query else ""
    return {
        "svg": reverse("report-recruitment-svg") + suffix,
        "csv": reverse("api-report-recruitment-csv") + suffix,
    }


def _site_query(scope) -> str:
    """The filter's query for a link to one site's months, ending `site=` for its code."""
    dates = {k: v for k, v in scope.filters().items() if k != "site"}
    return urlencode({**dates, "site": ""})


@login_required
@require_GET
def recruitment_page(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    context = {
        "scope": scope,
        "report": recruitment_of(scope),
        "filter": shown,
        "filter_dates": DATES,
        "downloads": _downloads(scope),
        "site_query": _site_query(scope),
    }
    return render(request, PAGE, context)


@login_required
@require_GET
def recruitment_svg(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    svg = recruitment_of(scope).svg
    response = HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + svg, content_type="image/svg+xml"
    )
    response["Content-Disposition"] = 'attachment; filename="recruitment.svg"'
    return response

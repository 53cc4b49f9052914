"""The CONSORT flow diagram: the page, its SVG and PDF downloads, and the listing behind each
number. Thin: the figures and the listings are the report's selectors."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from sites.pagekit import paged

from ..consort import consort_of
from ..listings import listing_of
from ..pdf import pdf_of
from .common import refused, scoped

PAGE = "reports/consort.html"
DATES = "Referral dates"


def _downloads(scope) -> dict[str, str]:
    query = urlencode(scope.filters())
    suffix = f"?{query}" if query else ""
    return {
        "svg": reverse("report-consort-svg") + suffix,
        "pdf": reverse("report-consort-pdf") + suffix,
        "csv": reverse("api-report-consort-csv") + suffix,
    }


@login_required
@require_GET
def consort_page(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    report = consort_of(scope)
    context = {
        "scope": scope,
        "report": report,
        "filter": shown,
        "filter_dates": DATES,
        "downloads": _downloads(scope),
    }
    return render(request, PAGE, context)


@login_required
@require_GET
def consort_svg(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    svg = consort_of(scope).svg
    response = HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + svg, content_type="image/svg+xml"
    )
    response["Content-Disposition"] = 'attachment; filename="consort.svg"'
    return response


@login_required
@require_GET
def consort_pdf(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    report = consort_of(scope)
    data = pdf_of("reports/consort_print.html", {"scope": scope, "report": report})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="consort.pdf"'
    return response


@login_required
@require_GET
def consort_listing(request, node: str):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, PAGE, shown, filter_dates=DATES)
    listing = listing_of(scope, node)
    if listing is None:
        raise Http404("The diagram has no such number.")
    page = paged(request, listing.rows)
    back = reverse("report-consort")
    if query := urlencode(scope.filters()):
        back += f"?{query}"
    context = {
        "scope": scope,
        "listing": listing,
        "page": page,
        "rows": listing.shaped(page.object_list),
        "back": back,
    }
    return render(request, "reports/consort_listing.html", context)

"""The reports' home: what each report shows, and who sees it split by arm."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .common import refused, scoped


@login_required
@require_GET
def reports_page(request):
    scope, shown = scoped(request)
    if scope is None:
        return refused(request, "reports/index.html", shown)
    return render(request, "reports/index.html", {"scope": scope, "filter": shown})

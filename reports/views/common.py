"""What every report page does first: read the filter, build the viewer's scope, and answer
a filter that does not fit (a site they cannot see, a date that is not one) with the page's
error summary and a 400, never a 500 and never an empty report."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import render

from core.errors import NotPermitted, TrialError
from sites.selectors import sites_visible_to
from trial.selectors import trials_visible_to

from ..filters import scope_from
from ..scope import ReportScope


@dataclass
class Filter:
    """The filter form as the page shows it: the values asked for, the sites offered, and
    the error (with the parameter it names) when the filter does not fit."""

    site: str = ""
    start: str = ""
    end: str = ""
    sites: tuple = ()
    error: str = ""
    field: str = ""


def scoped(request: HttpRequest) -> tuple[ReportScope | None, Filter]:
    """The viewer's scope for this request, or None with the filter's error. A viewer with
    no role in any trial is refused (403)."""
    params = request.GET
    shown = Filter(
        site=(params.get("site") or "").strip()[:10],
        start=(params.get("from") or "").strip()[:10],
        end=(params.get("to") or "").strip()[:10],
    )
    trials = list(trials_visible_to(request.user)[:2])
    if not trials:
        raise PermissionDenied("You hold no role in any trial.")
    shown.sites = tuple(sites_visible_to(request.user).filter(trial__in=trials).order_by("code"))
    try:
        return scope_from(request.user, params), shown
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except TrialError as exc:
        shown.error, shown.field = exc.message, exc.field or ""
        return None, shown


def refused(request: HttpRequest, template: str, shown: Filter, **context):
    """The report page with the filter's error and no figures, as a 400."""
    return render(request, template, {"filter": shown, **context}, status=400)

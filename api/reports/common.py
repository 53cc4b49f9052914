"""What every report endpoint shares: the filter's query parameters, read into the viewer's
scope (a bad one is a 400 naming the parameter, through the API's one error shape), and
their description in the OpenAPI schema."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from reports.filters import scope_from
from reports.scope import ReportScope

FILTER_PARAMETERS = [
    OpenApiParameter("trial", OpenApiTypes.STR, description="Trial code; optional with one trial"),
    OpenApiParameter("site", OpenApiTypes.STR, description="One site's code; all yours if absent"),
    OpenApiParameter("from", OpenApiTypes.DATE, description="From this date (YYYY-MM-DD)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="To this date, included"),
]


def scope_of(request) -> ReportScope:
    return scope_from(request.user, request.query_params)

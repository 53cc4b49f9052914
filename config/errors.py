"""Error pages: JSON under /api/ (the API's one error shape), HTML elsewhere. The test is on
the path within the application, so it holds when the site is served under a prefix."""

import sys

from django.views import defaults

from api.errors import json_not_found, json_server_error
from core.database import connection_lost
from core.middleware import database_lost_page


def not_found(request, exception=None):
    if request.path_info.startswith("/api/"):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path_info.startswith("/api/"):
        return json_server_error(request)
    # A connection lost outside any view (in a middleware: the session's save, say) reaches
    # here rather than core.middleware.DatabaseLostMiddleware: the same 503 page.
    if connection_lost(sys.exc_info()[1]):
        return database_lost_page(request)
    return defaults.server_error(request)


class StyledNotFoundMiddleware:
    """With DEBUG on (the demo), Django answers a missing page with its technical page,
    which shows the site's URL patterns. The demo's users get the site's own 404 instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and not response.streaming
            and not request.path_info.startswith(("/api/", "/static/"))
            and "text/html" in response.get("Content-Type", "")
            and b'data-testid="error-page"' not in response.content
        ):
            return defaults.page_not_found(request, None)
        return response

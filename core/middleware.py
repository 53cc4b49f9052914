"""Headers every response of the system carries, and the answer to a lost database."""

import logging

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, patch_cache_control

from .database import connection_lost, lost_message, nothing_saved

logger = logging.getLogger(__name__)


class NoStoreMiddleware:
    """Pages and API answers hold trial data, some of it identifying: no browser, proxy or
    shared cache may keep a copy (`Cache-Control: no-store`). Static files are served by
    WhiteNoise before this runs and keep their long cache lifetimes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response


class DatabaseLostMiddleware:
    """A request whose connection to PostgreSQL was lost (the server restarted, the backend
    was terminated) lost its transaction with it: nothing of it was saved (core.database
    says when that cannot be known). A page says so, with a 503 and a way to try again,
    instead of a server error. The page is drawn without the
    request, so that it needs no query. Under /api/ the API's exception handler answers
    (api.errors), in its JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path_info.startswith("/api/") or not connection_lost(exception):
            return None
        logger.warning("database connection lost during %s %s", request.method, request.path)
        return database_lost_page(request)


def database_lost_page(request) -> HttpResponse:
    """The 503 page for a lost connection: drawn without the request, so it needs no query."""
    return HttpResponse(
        render_to_string(
            "database_lost.html",
            {
                "message": lost_message(),
                "nothing_saved": nothing_saved(),
                "retry": request.get_full_path(),
            },
        ),
        status=503,
        headers={"Retry-After": "1"},
    )

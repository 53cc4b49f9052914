"""Error pages: JSON under /api/ (the API's one error shape), HTML elsewhere. The test is on
the path within the application, so it holds when the site is served under a prefix."""

from django.views import defaults

from api.errors import json_not_found, json_server_error


def not_found(request, exception=None):
    if request.path_info.startswith("/api/"):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path_info.startswith("/api/"):
        return json_server_error(request)
    return defaults.server_error(request)

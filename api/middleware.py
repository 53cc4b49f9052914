"""Every error under /api/ in the API's one JSON shape, whatever raised it: an unknown URL
(with DEBUG on or off, served under any prefix), a body too large, a refused host."""

from django.http import HttpResponse, JsonResponse

from .errors import error_body

CODES = {
    400: ("bad_request", "The request could not be read."),
    403: ("forbidden", "You may not do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("too_large", "The request is too large."),
    500: ("server_error", "The server failed; the error was logged."),
    503: ("unavailable", "The service is unavailable for a moment; try again."),
}


class ApiErrorShapeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            code, message = CODES.get(
                response.status_code, ("error", f"HTTP {response.status_code}")
            )
            shaped = JsonResponse(error_body(code, message), status=response.status_code)
            for header in ("WWW-Authenticate", "Retry-After", "Allow"):
                if header in response:
                    shaped[header] = response[header]
            return shaped
        return response

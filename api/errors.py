"""One JSON error shape for every API failure:

{"error": {"code": "...", "message": "...", "fields": {"field": ["message", ...]}}}
"""

import sys

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.database import connection_lost, lost_message
from core.errors import TrialError


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field" or "field.sub": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        for i, value in enumerate(detail):
            name = f"{prefix}.{i}" if prefix and isinstance(value, dict) else prefix
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def database_lost_response() -> JsonResponse:
    """503: the connection to PostgreSQL went away mid-request (with its transaction)."""
    response = JsonResponse(
        error_body("database_unavailable", lost_message()),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = "1"
    return response


def exception_handler(exc, context):
    if connection_lost(exc):
        return database_lost_response()
    if isinstance(exc, TrialError):
        fields = {name: [message] for name, message in exc.fields.items()}
        set_rollback()
        return Response(error_body(exc.code, exc.message, fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, IntegrityError):
        # The service checked first; this is a concurrent request that saved the same thing.
        set_rollback()
        return Response(
            error_body(
                "conflict",
                "This conflicts with a record saved at the same moment; reload and try again.",
            ),
            status=status.HTTP_409_CONFLICT,
        )
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first_field, messages = next(iter(fields.items()))
        message = (
            messages[0] if first_field == "non_field_errors" else f"{first_field}: {messages[0]}"
        )
        body = error_body(
            "invalid", message, {k: v for k, v in fields.items() if k != "non_field_errors"}
        )
    else:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = error_body(exc.get_codes() if isinstance(exc.get_codes(), str) else "error", detail)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request):
    # Raised outside a view (a middleware's own query): the same answer as from a view.
    if connection_lost(sys.exc_info()[1] or Exception()):
        return database_lost_response()
    return JsonResponse(
        error_body("server_error", "The server failed; the error was logged."), status=500
    )

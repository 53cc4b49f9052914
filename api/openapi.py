"""The OpenAPI schema's error answers, declared once for every operation.

Every failure of the API has one JSON shape (api/errors.py). Which failures an operation
can answer follows from what it takes and who may call it, so they are derived here from
the operation drf-spectacular has described, rather than repeated on each view:

- 400 (invalid): a write, or a read that takes query parameters;
- 401 (not signed in): an operation that authenticates (a bad token is refused even
  where signing in is optional);
- 403 (refused): an operation that needs a signed-in caller, or a write that a signed-in
  session makes (CSRF);
- 404 (not found): a record named in the path (outside the caller's sites too), or a page
  or cursor past the end of (or foreign to) a listing;
- 409 (conflict): a write (a step out of order, locked data, a concurrent save);
- 415 (unsupported media type): an operation that reads a body, sent one of another type;
- 429 (too many): a throttled operation;
- 503 (database unavailable): every operation (the connection lost mid-request).

A write that looks up a record named in its body (a referral, a response, a site, a family)
answers 404 for one outside the caller's sites, as for a path: its view says so with
`**BODY_NAMES_A_RECORD` in its responses. A view that declares a code itself keeps its own
declaration (and the description here, where it gives none)."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions, serializers

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
DESCRIPTIONS = {
    400: "The request is invalid: `fields` names each field or parameter and its problem.",
    401: "Not signed in: the token is missing, unknown or expired.",
    403: "Refused: the caller's role or duties do not allow this.",
    404: "Not found, or outside the caller's sites.",
    409: "Refused in the record's current state (a step out of order, locked data, or a "
    "record saved at the same moment).",
    415: "The body's media type is not one this operation reads (JSON, or a form).",
    429: "Too many attempts: wait for the time in Retry-After.",
    503: "The database was unavailable for a moment; nothing was saved; try again.",
}


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="a stable code for programs: invalid, not_found, ...")
    message = serializers.CharField(help_text="what went wrong, in plain words")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="each field or parameter at fault and its messages (may be empty)",
    )


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


# Responses of a write whose body names a record looked up in the caller's scope.
BODY_NAMES_A_RECORD = {404: ErrorOut}


class ApiAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, response in responses.items():
            if int(code) in DESCRIPTIONS and not response.get("description"):
                response["description"] = DESCRIPTIONS[int(code)]
        for code in self._error_codes(operation):
            if str(code) not in responses:
                response = self._get_response_for_code(ErrorOut, str(code))
                response["description"] = DESCRIPTIONS[code]
                responses[str(code)] = response
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation: dict) -> list[int]:
        write = self.method not in SAFE_METHODS
        located = {p["in"] for p in operation.get("parameters", [])}
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        authenticates = bool(self.view.get_authenticators())
        open_to_all = any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        codes = [503]
        if write or "query" in located:
            codes.append(400)
        if authenticates:
            codes.append(401)
        if not open_to_all or (write and authenticates):
            codes.append(403)
        if "path" in located or names & {"page", "cursor"}:
            codes.append(404)
        if write:
            codes.append(409)
        if "requestBody" in operation:
            codes.append(415)
        if self.view.get_throttles():
            codes.append(429)
        return codes

"""The gate of the second factor: a signed-in user whose sign-in asks for one and whose
session has not passed it reaches only the enrolment and code pages and sign-out. Every other
page sends them there; the API answers 403 in its one error shape. Installed after
django-otp's OTPMiddleware, which says which device (if any) verified the session."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse

from api.errors import error_body
from sites.second_factor import has_second_factor, second_factor_asked

# Pages a session that has not passed the second factor may still open.
OPEN_PAGES = frozenset(
    {
        "login",
        "logout",
        "password-reset",
        "password-set",
        "second-factor-verify",
        "second-factor-enrol",
        "second-factor-qr",
        # Token requests carry their own code (api/auth.py), whatever the session.
        "api-token",
        "api-password-reset",
        "api-password-set",
    }
)


def _open(request) -> bool:
    try:
        return resolve(request.path_info).url_name in OPEN_PAGES
    except Resolver404:
        return False


def _token_request(request) -> bool:
    """Whether knox decides who this is: its prefix (knox either signs the request in with the
    token or refuses it). Any other scheme falls through to the session, so it is gated."""
    words = request.headers.get("Authorization", "").split()
    return bool(words) and words[0].lower() == settings.REST_KNOX["AUTH_HEADER_PREFIX"].lower()


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.TWO_FACTOR_WAIVED
            or not user.is_authenticated
            or user.is_verified()
            or _open(request)
            or not second_factor_asked(user)
        ):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            if _token_request(request):
                # A token, not the session, signs this request in: the token was issued only
                # with a second factor, and a wrong token fails on its own (401).
                return self.get_response(request)
            return JsonResponse(
                error_body(
                    "second_factor_required",
                    "This session has not passed the second factor: sign in on the web with "
                    "your authenticator app's code, or ask for an API token with it.",
                ),
                status=403,
            )
        page = "second-factor-verify" if has_second_factor(user) else "second-factor-enrol"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(page)}?{query}")

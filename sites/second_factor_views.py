"""Pages of the second factor: enrolment (QR code and typed secret, confirmed with a code,
then the recovery codes shown once), the code asked for after the password, and the user's
own page to enrol of their own accord or make new recovery codes."""

import io
from urllib.parse import urlencode

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.channels import Channel
from core.errors import TrialError

from .pagekit import submit
from .second_factor import (
    enrolment_device,
    has_second_factor,
    recovery_codes_generate,
    recovery_codes_left,
    second_factor_asked,
    second_factor_enrol,
    second_factor_required,
    second_factor_verify,
    secret_base32,
)


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=64,
        label="Code",
        help_text="The 6-digit code your authenticator app shows now, or one of your "
        "recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )


class EnrolCodeForm(CodeForm):
    code = forms.CharField(
        max_length=64,
        label="Code from your app",
        help_text="The 6-digit code your authenticator app shows for this account.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )


def _next(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("home")


def _with_next(name: str, request):
    return redirect(f"{reverse(name)}?{urlencode({'next': _next(request)})}")


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_verify_page(request):
    if not has_second_factor(request.user):
        return _with_next("second-factor-enrol", request)
    if request.user.is_verified():
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        device = submit(
            form,
            lambda d: second_factor_verify(user=request.user, code=d["code"], channel=Channel.WEB),
        )
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = recovery_codes_left(request.user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Make new ones on "
                    "your two-factor page if you are running out.",
                )
            return redirect(_next(request))
    return render(
        request, "sites/second_factor_verify.html", {"form": form, "next": _next(request)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_enrol_page(request):
    if has_second_factor(request.user):
        return _with_next("second-factor-verify", request)
    device = enrolment_device(user=request.user)
    form = EnrolCodeForm(request.POST or None)
    if request.method == "POST":
        done = submit(
            form,
            lambda d: second_factor_enrol(user=request.user, code=d["code"], channel=Channel.WEB),
        )
        if done is not None:
            device, codes = done
            otp_login(request, device)
            return render(
                request,
                "sites/second_factor_codes.html",
                {"codes": codes, "next": _next(request), "enrolled": True},
            )
    return render(
        request,
        "sites/second_factor_enrol.html",
        {
            "form": form,
            "secret": secret_base32(device),
            "next": _next(request),
            "required": second_factor_required(request.user),
        },
    )


@login_required
def second_factor_qr(request):
    """The QR code of the secret being enrolled, as an SVG image from this site (the content
    security policy allows no data: images)."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        raise Http404("No enrolment in progress.")
    out = io.BytesIO()
    segno.make(device.config_url, error="m").save(
        out, kind="svg", scale=6, border=2, title="QR code for your authenticator app"
    )
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


@login_required
def second_factor_page(request):
    user = request.user
    return render(
        request,
        "sites/second_factor.html",
        {
            "enrolled": has_second_factor(user),
            "required": second_factor_required(user),
            "asked": second_factor_asked(user),
            "codes_left": recovery_codes_left(user),
        },
    )


@login_required
@require_POST
def recovery_codes_page(request):
    try:
        codes = recovery_codes_generate(user=request.user, channel=Channel.WEB)
    except TrialError as exc:
        messages.error(request, exc.message)
        return redirect("second-factor")
    return render(
        request,
        "sites/second_factor_codes.html",
        {"codes": codes, "next": reverse("second-factor"), "enrolled": False},
    )

"""Token sign-in and sign-out for API clients (django-rest-knox: only a digest is stored)."""

from django.contrib.auth import authenticate, user_logged_in, user_logged_out
from django.http import JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from core.errors import TrialError
from sites.invitations import password_reset_request, password_set_by_link
from sites.second_factor import has_second_factor, second_factor_asked, second_factor_verify

from .errors import error_body
from .openapi import ErrorOut


class TokenRequestIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )
    otp = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The second factor: the 6-digit code the user's authenticator app shows now, "
        "or one of their recovery codes (spent once used). Required for every user who has set "
        "up a second factor or whose role requires one.",
    )


class TokenOut(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class TokenObtainView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=TokenRequestIn,
        responses={
            200: TokenOut,
            403: OpenApiResponse(
                ErrorOut,
                description="The user's role requires a second factor and none is set up: "
                "set it up on the web first (second_factor_enrolment_required).",
            ),
            429: OpenApiResponse(
                ErrorOut, description="Too many failed sign-ins: the account is locked out."
            ),
        },
        auth=[],
        summary="Exchange a username, password and second-factor code for an API token",
    )
    def post(self, request):
        data = TokenRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(
            django_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if getattr(django_request, "axes_locked_out", False):
            return Response(locked_out_body(), status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None:
            return Response(
                error_body(
                    "invalid_credentials",
                    "Username or password is not correct.",
                    {"password": ["Username or password is not correct."]},
                ),
                status=status.HTTP_400_BAD_REQUEST,
            )
        if second_factor_asked(user):
            if not has_second_factor(user):
                return Response(
                    error_body(
                        "second_factor_enrolment_required",
                        "Your role requires two-factor sign-in: sign in on the web once to set "
                        "up an authenticator app, then ask for a token with its code.",
                        {"otp": ["Set up two-factor sign-in on the web first."]},
                    ),
                    status=status.HTTP_403_FORBIDDEN,
                )
            try:
                second_factor_verify(
                    user=user,
                    code=data.validated_data.get("otp"),
                    channel=Channel.API,
                    field="otp",
                )
            except TrialError as exc:
                return Response(
                    error_body(exc.code, exc.message, {k: [v] for k, v in exc.fields.items()}),
                    status=status.HTTP_400_BAD_REQUEST,
                )
        instance, token = AuthToken.objects.create(user)
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        return Response({"token": token, "expiry": instance.expiry})


class TokenRevokeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Revoke the token in use")
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            request.auth.delete()
        user_logged_out.send(
            sender=request.user.__class__, request=request._request, user=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def locked_out_body() -> dict:
    return error_body(
        "locked_out",
        "Too many failed sign-ins: this account is locked for "
        "30 minutes. Ask the trial manager if you need it sooner.",
    )


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    """django-axes' lockout answer: JSON for the API, a page for people."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(locked_out_body(), status=429)
    return render(request, "registration/locked_out.html", status=429)


class PasswordResetIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=PasswordResetIn,
        responses={202: None},
        auth=[],
        summary="Email a link to set a new password (the same answer whether or not an "
        "account has the address)",
    )
    def post(self, request):
        data = PasswordResetIn(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(
            email=data.validated_data["email"],
            channel=Channel.API,
            base_url=request.build_absolute_uri("/"),
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordSetIn(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="from the emailed link")
    token = serializers.CharField(max_length=128, help_text="from the emailed link")
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class PasswordSetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=PasswordSetIn,
        responses={204: None},
        auth=[],
        summary="Set a password with an emailed link's uid and token (the link then stops working)",
    )
    def post(self, request):
        data = PasswordSetIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        password_set_by_link(
            uidb64=fields["uid"],
            token=fields["token"],
            password=fields["password"],
            channel=Channel.API,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from core.csvfile import csv_download, csv_lines
from core.errors import TrialError
from dataset.selectors import deviations_visible_to
from trial.deviation_log import CSV_HEADER, DeviationFilter, csv_rows
from trial.deviations import (
    deviation_breach_reported,
    deviation_flag_breach,
    deviation_record,
    deviation_review,
)
from trial.lookup import family_identifier_typed
from trial.models import ProtocolDeviation
from trial.selectors import families_visible_to

from .openapi import BODY_NAMES_A_RECORD


class DeviationOut(serializers.ModelSerializer):
    family = serializers.CharField(source="family.identifier")
    site_code = serializers.CharField(source="family.site.code")
    kind_label = serializers.CharField(source="get_kind_display")
    about_person = serializers.CharField(source="person.username", allow_null=True)
    recorded_by = serializers.CharField(source="recorded_by.username")
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True)

    class Meta:
        model = ProtocolDeviation
        fields = [
            "id",
            "family",
            "site_code",
            "kind",
            "kind_label",
            "severity",
            "occurred_on",
            "description",
            "corrective_action",
            "preventive_action",
            "source",
            "about_person",
            "recorded_by",
            "recorded_at",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "possible_serious_breach",
            "breach_due_at",
            "breach_reported_on",
        ]


_YES_NO = ["yes", "no"]
FILTER_PARAMETERS = [
    OpenApiParameter("site", OpenApiTypes.STR, description="a site code, e.g. BUC"),
    OpenApiParameter(
        "family",
        OpenApiTypes.STR,
        description="a family's trial identifier with its check character, e.g. RC-BUC-0007-K: "
        "a wrong check character is a 400",
        extensions={"x-identifier": True},
    ),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=ProtocolDeviation.Kind.values),
    OpenApiParameter("severity", OpenApiTypes.STR, enum=ProtocolDeviation.Severity.values),
    OpenApiParameter("reviewed", OpenApiTypes.STR, enum=_YES_NO),
    OpenApiParameter(
        "breach", OpenApiTypes.STR, enum=_YES_NO, description="flagged as a possible breach"
    ),
    OpenApiParameter(
        "overdue",
        OpenApiTypes.STR,
        enum=_YES_NO,
        description="a possible serious breach not reported within its 7 days",
    ),
]


def _filtered(request):
    wanted = DeviationFilter.from_params(request.query_params)
    return wanted.apply(deviations_visible_to(request.user).order_by("-occurred_on", "-pk"))


class DeviationIn(serializers.Serializer):
    family = serializers.CharField(max_length=32, help_text="the family's trial identifier")
    kind = serializers.ChoiceField(choices=ProtocolDeviation.Kind.choices)
    severity = serializers.ChoiceField(choices=ProtocolDeviation.Severity.choices)
    occurred_on = serializers.DateField()
    description = serializers.CharField(max_length=4000, allow_blank=True)
    corrective_action = serializers.CharField(max_length=4000, required=False, default="")
    preventive_action = serializers.CharField(max_length=4000, required=False, default="")
    possible_serious_breach = serializers.BooleanField(required=False, default=False)
    person = serializers.CharField(
        max_length=150,
        required=False,
        default="",
        allow_blank=True,
        help_text="assessor unblinded: the username of the assessor who learned the arm",
    )


class DeviationListView(generics.ListAPIView):
    """Protocol deviations at your sites, filtered; deviations that can tell the arm are
    left out where you are blinded."""

    serializer_class = DeviationOut

    @extend_schema(parameters=FILTER_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _filtered(self.request)

    @extend_schema(
        request=DeviationIn,
        responses={201: DeviationOut, **BODY_NAMES_A_RECORD},
        summary="Record a protocol deviation of a family at your site",
    )
    def post(self, request):
        data = DeviationIn(data=request.data)
        data.is_valid(raise_exception=True)
        given = dict(data.validated_data)
        identifier = family_identifier_typed(given.pop("family"), field="family")
        family = get_object_or_404(families_visible_to(request.user), identifier=identifier)
        username = given.pop("person").strip()
        person = None
        if username:
            person = (
                get_user_model()
                .objects.filter(username=username, memberships__site=family.site)
                .first()
            )
            if person is None:
                raise TrialError(
                    f"No one called {username} works at {family.site.code}.", field="person"
                )
        done = deviation_record(
            family=family, person=person, actor=request.user, channel=Channel.API, **given
        )
        return Response(DeviationOut(done).data, status=status.HTTP_201_CREATED)


class DeviationCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The deviation log as CSV, with the list's filters",
    )
    def get(self, request):
        return csv_download(
            csv_lines(CSV_HEADER, csv_rows(_filtered(request))), filename="deviations.csv"
        )


def _found(request, deviation_id: int) -> ProtocolDeviation:
    return get_object_or_404(deviations_visible_to(request.user), pk=deviation_id)


class ReviewIn(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, help_text="what the review found or decided")


class DeviationReviewView(APIView):
    @extend_schema(
        request=ReviewIn, responses=DeviationOut, summary="Review a deviation (trial manager)"
    )
    def post(self, request, deviation_id: int):
        found = _found(request, deviation_id)
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = deviation_review(
            deviation=found, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(DeviationOut(done).data)


class BreachFlagIn(serializers.Serializer):
    reason = serializers.CharField(
        max_length=4000, allow_blank=True, help_text="why this may be a serious breach"
    )


class DeviationBreachFlagView(APIView):
    @extend_schema(
        request=BreachFlagIn,
        responses=DeviationOut,
        summary="Flag a possible serious breach: due for report within 7 days "
        "(trial manager or chief investigator)",
    )
    def post(self, request, deviation_id: int):
        found = _found(request, deviation_id)
        data = BreachFlagIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = deviation_flag_breach(
            deviation=found, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(DeviationOut(done).data)


class BreachReportedIn(serializers.Serializer):
    reported_on = serializers.DateField(help_text="the day it was reported to the sponsor/REC")


class DeviationBreachReportedView(APIView):
    @extend_schema(
        request=BreachReportedIn,
        responses=DeviationOut,
        summary="Record that a possible serious breach was reported "
        "(trial manager or chief investigator)",
    )
    def post(self, request, deviation_id: int):
        found = _found(request, deviation_id)
        data = BreachReportedIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = deviation_breach_reported(
            deviation=found, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(DeviationOut(done).data)

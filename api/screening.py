from django.db.models import Q
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from sites.selectors import sites_visible_to
from trial.models import ScreeningOutcome, ScreeningRecord
from trial.screening import screening_close, screening_record
from trial.selectors import screenings_visible_to

from .fields import identifier_param, identifier_parameter
from .openapi import BODY_NAMES_A_RECORD


class ScreeningOut(serializers.ModelSerializer):
    """A screening log entry. The child's date of birth is never shown: ages and the band,
    derived from it, are."""

    site_code = serializers.CharField(source="site.code")
    gestation_weeks = serializers.SerializerMethodField()
    family = serializers.SerializerMethodField()

    class Meta:
        model = ScreeningRecord
        fields = [
            "id",
            "identifier",
            "site",
            "site_code",
            "referral_date",
            "referrer_type",
            "child_born",
            "child_age_months",
            "gestation_weeks",
            "age_band",
            "answers",
            "eligible",
            "failed_criterion",
            "interpreter_needed",
            "interpreter_language",
            "outcome",
            "outcome_reason",
            "outcome_note",
            "outcome_date",
            "family",
        ]

    def get_gestation_weeks(self, record) -> int | None:
        return None if record.gestation_days is None else record.gestation_days // 7

    def get_family(self, record) -> str | None:
        family = getattr(record, "family", None)
        return family.identifier if family else None


class ScreeningIn(serializers.Serializer):
    site = serializers.IntegerField()
    referral_date = serializers.DateField()
    referrer_type = serializers.CharField(max_length=40)
    child_date_of_birth = serializers.DateField(required=False, allow_null=True)
    expected_due_date = serializers.DateField(
        required=False, allow_null=True, help_text="if the child is unborn"
    )
    answers = serializers.DictField(
        child=serializers.BooleanField(), help_text="criterion key → true/false"
    )
    interpreter_needed = serializers.BooleanField(required=False, default=False)
    interpreter_language = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=60
    )


class ScreeningCloseIn(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[ScreeningOutcome.DECLINED, ScreeningOutcome.OTHER])
    reason = serializers.CharField(max_length=60, help_text="a coded reason of the trial")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    outcome_date = serializers.DateField(required=False, allow_null=True)


class ScreeningFilter(filters.FilterSet):
    class Meta:
        model = ScreeningRecord
        fields = ["site", "outcome", "eligible"]


def visible_screenings(user):
    return screenings_visible_to(user).select_related("family")


class ScreeningListView(generics.ListAPIView):
    serializer_class = ScreeningOut
    filterset_class = ScreeningFilter

    def get_queryset(self):
        records = visible_screenings(self.request.user)
        if identifier := identifier_param(self.request, "identifier", families_only=False):
            records = records.filter(Q(identifier=identifier) | Q(family__identifier=identifier))
        return records

    @extend_schema(
        parameters=[
            identifier_parameter(
                "identifier",
                description="The referral with this identifier, or the one the family with "
                "this identifier was enrolled from",
            )
        ],
        summary="The screening log at the sites you can see",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ScreeningIn,
        responses={201: ScreeningOut, **BODY_NAMES_A_RECORD},
        summary="Screen a referral (site coordinator)",
    )
    def post(self, request):
        data = ScreeningIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        site = get_object_or_404(sites_visible_to(request.user), pk=fields.pop("site"))
        record = screening_record(site=site, actor=request.user, channel=Channel.API, **fields)
        return Response(ScreeningOut(record).data, status=status.HTTP_201_CREATED)


class ScreeningDetailView(APIView):
    @extend_schema(responses=ScreeningOut, summary="One screening log entry")
    def get(self, request, screening_id: int):
        record = get_object_or_404(visible_screenings(request.user), pk=screening_id)
        return Response(ScreeningOut(record).data)


class ScreeningCloseView(APIView):
    @extend_schema(
        request=ScreeningCloseIn,
        responses=ScreeningOut,
        summary="Close an eligible referral: declined, or another reason",
    )
    def post(self, request, screening_id: int):
        record = get_object_or_404(visible_screenings(request.user), pk=screening_id)
        data = ScreeningCloseIn(data=request.data)
        data.is_valid(raise_exception=True)
        record = screening_close(
            screening=record, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(ScreeningOut(record).data)

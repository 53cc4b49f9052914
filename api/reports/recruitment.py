"""Recruitment as JSON and CSV: the same figures, scope and pooling as the page
(`reports.recruitment`). Never split by arm, for any viewer."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csvfile import csv_download, csv_lines
from reports.recruitment import recruitment_of

from .common import FILTER_PARAMETERS, scope_of


class RecruitmentMonthOut(serializers.Serializer):
    month = serializers.DateField(help_text="the month's first day")
    referrals = serializers.IntegerField()
    eligible = serializers.IntegerField()
    consented = serializers.IntegerField(help_text="families, by their first consent's date")
    randomised = serializers.IntegerField()
    cumulative = serializers.IntegerField(
        allow_null=True,
        help_text="randomised by the month's end, from the start; null for a month to come",
    )
    target = serializers.FloatField(
        allow_null=True, help_text="the plan's figure by the month's end; null without a plan"
    )


class RecruitmentTotalsOut(serializers.Serializer):
    referrals = serializers.IntegerField()
    eligible = serializers.IntegerField()
    consented = serializers.IntegerField()
    randomised = serializers.IntegerField()


class RecruitmentProgressOut(serializers.Serializer):
    randomised = serializers.IntegerField(help_text="by today")
    target = serializers.IntegerField()
    expected = serializers.FloatField(help_text="by today on the linear plan")
    behind = serializers.BooleanField(help_text="more than 10 % below the expected figure")


class RecruitmentWaitsOut(serializers.Serializer):
    n = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True)
    q1 = serializers.FloatField(allow_null=True)
    q3 = serializers.FloatField(allow_null=True)
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)


class RecruitmentPartOut(serializers.Serializer):
    site = serializers.CharField(help_text="the site's code, or 'all' for the sites together")
    name = serializers.CharField()
    months = RecruitmentMonthOut(many=True)
    totals = RecruitmentTotalsOut()
    progress = RecruitmentProgressOut(allow_null=True, help_text="null without a plan")
    waits = RecruitmentWaitsOut(help_text="days from referral to randomisation")


class RecruitmentPlanOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    target = serializers.IntegerField(help_text="for the sites in scope")


class RecruitmentProjectionOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["reached", "no_recent", "projected"])
    target = serializers.IntegerField()
    randomised = serializers.IntegerField()
    remaining = serializers.IntegerField()
    window_days = serializers.IntegerField()
    recent = serializers.IntegerField(help_text="randomised in the window")
    per_month = serializers.FloatField(allow_null=True)
    central = serializers.DateField(allow_null=True)
    earliest = serializers.DateField(allow_null=True, help_text="at the fastest plausible rate")
    latest = serializers.DateField(
        allow_null=True, help_text="at the slowest plausible rate (80 % interval)"
    )


class RecruitmentOut(serializers.Serializer):
    on = serializers.DateField(help_text="today, for progress and the projection")
    plan = RecruitmentPlanOut(allow_null=True, help_text="null: the definition has no plan")
    behind_rule = serializers.CharField()
    overall = RecruitmentPartOut()
    sites = RecruitmentPartOut(many=True)
    projection = RecruitmentProjectionOut(allow_null=True)
    projection_text = serializers.CharField()


class RecruitmentView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=RecruitmentOut,
        summary="Recruitment by site and month against the plan, pooled over the arms",
    )
    def get(self, request):
        return Response(recruitment_of(scope_of(request)).as_dict())


class RecruitmentCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary=(
            "Recruitment as CSV: site, month, referrals, eligible, consented, randomised, "
            "cumulative randomised, target by the end of the month"
        ),
    )
    def get(self, request):
        report = recruitment_of(scope_of(request))
        return csv_download(
            csv_lines(report.csv_header(), report.csv_rows()), filename="recruitment.csv"
        )

"""The primary outcome so far by arm as JSON and CSV: for the unblinded statistician only;
anyone else is refused (403) in the API's one error shape (`reports.outcome`)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csvfile import csv_download, csv_lines
from reports.outcome import outcome_of

from .common import FILTER_PARAMETERS, scope_of


class OutcomeColumnOut(serializers.Serializer):
    key = serializers.CharField(help_text="'all', or an arm's code")
    label = serializers.CharField()
    randomised = serializers.IntegerField()
    analysed = serializers.IntegerField(help_text="the outcome form complete at its visit")
    yes = serializers.IntegerField()
    no = serializers.IntegerField()
    proportion = serializers.FloatField(allow_null=True, help_text="yes / (yes + no)")


class OutcomeComparisonOut(serializers.Serializer):
    first = serializers.CharField()
    first_label = serializers.CharField()
    second = serializers.CharField()
    second_label = serializers.CharField()
    estimate = serializers.FloatField(help_text="first's proportion minus second's")
    low = serializers.FloatField(help_text="95 % Wald interval")
    high = serializers.FloatField()


class OutcomeOut(serializers.Serializer):
    question = serializers.CharField()
    visit = serializers.CharField()
    columns = OutcomeColumnOut(many=True)
    comparisons = OutcomeComparisonOut(many=True)
    note = serializers.CharField(help_text="descriptive, not the trial's analysis")


class OutcomeView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=OutcomeOut,
        summary="The primary outcome so far by arm (the unblinded statistician only)",
    )
    def get(self, request):
        return Response(outcome_of(scope_of(request)).as_dict())


class OutcomeCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The primary outcome so far as CSV: measure, column, value",
    )
    def get(self, request):
        report = outcome_of(scope_of(request))
        return csv_download(
            csv_lines(report.csv_header(), report.csv_rows()), filename="outcome.csv"
        )

"""Serious adverse events as JSON and CSV: the same figures, scope and concealment as the
page (`reports.adverse_events`): pooled, without relatedness or expectedness, for every
viewer; by arm with both for the unblinded statistician only."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csvfile import csv_download, csv_lines
from reports.adverse_events import adverse_events_of

from .balance import BalanceLevelOut
from .common import FILTER_PARAMETERS, scope_of


class SafetyColumnOut(serializers.Serializer):
    key = serializers.CharField(help_text="'all', or an arm's code in the closed report")
    label = serializers.CharField()
    families = serializers.IntegerField(help_text="families randomised in the column")
    events = serializers.IntegerField()
    families_with_event = serializers.IntegerField()


class SafetyGroupOut(serializers.Serializer):
    key = serializers.CharField(help_text="the form's field")
    label = serializers.CharField()
    levels = BalanceLevelOut(many=True, help_text="events per answer (percent of events)")


class SafetyOut(serializers.Serializer):
    title = serializers.CharField()
    by_arm = serializers.BooleanField(help_text="split by arm: the closed report only")
    columns = SafetyColumnOut(many=True)
    groups = SafetyGroupOut(many=True)


class SafetyView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=SafetyOut,
        summary="Serious adverse events (pooled; by arm for the unblinded statistician only)",
    )
    def get(self, request):
        return Response(adverse_events_of(scope_of(request)).as_dict())


class SafetyCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Serious adverse events as CSV: measure, level, column, value",
    )
    def get(self, request):
        report = adverse_events_of(scope_of(request))
        return csv_download(
            csv_lines(report.csv_header(), report.csv_rows()), filename="safety.csv"
        )

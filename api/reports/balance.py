"""Baseline balance as JSON and CSV: the same figures, scope and concealment as the page
(`reports.balance`): pooled for every viewer, by arm with the allocations by stratification
factor level for the unblinded statistician only."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csvfile import csv_download, csv_lines
from reports.balance import balance_of

from .common import FILTER_PARAMETERS, scope_of


class BalanceColumnOut(serializers.Serializer):
    key = serializers.CharField(help_text="'all', or an arm's code in the closed report")
    label = serializers.CharField()
    families = serializers.IntegerField(help_text="families randomised in the column")


class BalanceSummaryOut(serializers.Serializer):
    column = serializers.CharField()
    n = serializers.IntegerField(help_text="families with a value")
    mean = serializers.FloatField(allow_null=True)
    sd = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    q1 = serializers.FloatField(allow_null=True, help_text="lower quartile (inclusive)")
    q3 = serializers.FloatField(allow_null=True, help_text="upper quartile (inclusive)")
    missing = serializers.IntegerField()


class BalanceCellOut(serializers.Serializer):
    column = serializers.CharField()
    count = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)


class BalanceLevelOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    cells = BalanceCellOut(many=True)


class BalanceMissingOut(serializers.Serializer):
    column = serializers.CharField()
    count = serializers.IntegerField()


class BalanceCharacteristicOut(serializers.Serializer):
    source = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["number", "levels"])
    summaries = BalanceSummaryOut(many=True, help_text="a number's, one per column")
    levels = BalanceLevelOut(many=True, help_text="an answer's, families per level")
    missing = BalanceMissingOut(many=True, help_text="an answer's missing, per column")


class BalanceFactorCountOut(serializers.Serializer):
    column = serializers.CharField()
    count = serializers.IntegerField()


class BalanceFactorLevelOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    counts = BalanceFactorCountOut(many=True)


class BalanceFactorOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    levels = BalanceFactorLevelOut(many=True)


class BalanceFactorLevelsOut(serializers.Serializer):
    columns = BalanceColumnOut(many=True)
    factors = BalanceFactorOut(many=True)


class BalanceOut(serializers.Serializer):
    by_arm = serializers.BooleanField(help_text="split by arm: the closed report only")
    columns = BalanceColumnOut(many=True)
    factor_levels = BalanceFactorLevelsOut(
        allow_null=True,
        help_text="allocations by stratification factor level by arm: the closed report "
        "only, null for everyone else",
    )
    characteristics = BalanceCharacteristicOut(many=True)


class BalanceView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=BalanceOut,
        summary="Baseline balance (pooled; by arm for the unblinded statistician only)",
    )
    def get(self, request):
        return Response(balance_of(scope_of(request)).as_dict())


class BalanceCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Baseline balance as CSV: characteristic, level or statistic, column, value",
    )
    def get(self, request):
        report = balance_of(scope_of(request))
        return csv_download(
            csv_lines(report.csv_header(), report.csv_rows()), filename="balance.csv"
        )

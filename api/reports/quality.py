"""The data quality report as JSON and CSV: the same figures, scope and concealment as the
page (`reports.quality`): pooled over the arms, and the forms that reveal the arm left out
for a viewer blinded at any site in scope."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.csvfile import csv_download, csv_lines
from reports.quality import quality_of

from .common import FILTER_PARAMETERS, scope_of


class QualityFormOut(serializers.Serializer):
    site = serializers.CharField(help_text="the site's code; empty in the totals")
    visit = serializers.CharField()
    visit_label = serializers.CharField()
    form = serializers.CharField()
    title = serializers.CharField()
    expected = serializers.IntegerField(
        help_text="window opened (baseline: every family randomised), less the forms the "
        "family's consent or withdrawal stops, unless complete or marked not done"
    )
    complete = serializers.IntegerField()
    overdue = serializers.IntegerField(
        help_text="expected, not complete, not marked not done, and the window closed"
    )
    not_done = serializers.IntegerField(help_text="marked not done")
    out_of_window = serializers.IntegerField(help_text="complete, dated outside the window")
    complete_percent = serializers.IntegerField(allow_null=True)


class QualityVerificationOut(serializers.Serializer):
    key_complete = serializers.IntegerField(help_text="complete key forms (all to verify)")
    key_verified = serializers.IntegerField()
    other_complete = serializers.IntegerField()
    other_percent = serializers.FloatField(help_text="the plan's share of the other forms")
    other_required = serializers.IntegerField(help_text="that share, rounded up")
    other_verified = serializers.IntegerField()


class QualitySiteOut(serializers.Serializer):
    site = serializers.CharField()
    name = serializers.CharField()
    randomised = serializers.IntegerField()
    expected = serializers.IntegerField()
    complete = serializers.IntegerField()
    overdue = serializers.IntegerField()
    not_done = serializers.IntegerField()
    out_of_window = serializers.IntegerField()
    queries_raised = serializers.IntegerField()
    queries_open = serializers.IntegerField(help_text="not yet closed (open or answered)")
    queries_closed = serializers.IntegerField()
    open_by_age = serializers.DictField(
        child=serializers.IntegerField(), help_text="age band: open queries"
    )
    verification = QualityVerificationOut()


class QualityRetentionOut(serializers.Serializer):
    visit = serializers.CharField()
    label = serializers.CharField()
    due = serializers.IntegerField(help_text="families whose window has closed")
    retained = serializers.IntegerField(help_text="of them, with a form complete at the visit")
    withdrawn = serializers.IntegerField(help_text="of them, withdrawn when the window closed")
    retained_percent = serializers.IntegerField(allow_null=True)


class QualityOut(serializers.Serializer):
    on = serializers.DateField()
    randomised_from = serializers.DateField(allow_null=True)
    randomised_to = serializers.DateField(allow_null=True)
    randomised = serializers.IntegerField()
    out_of_window = serializers.IntegerField()
    overdue = serializers.IntegerField()
    forms_left_out = serializers.ListField(
        child=serializers.CharField(), help_text="forms that reveal the arm, for a blinded viewer"
    )
    rows = QualityFormOut(many=True, help_text="by site, visit and form")
    totals = QualityFormOut(many=True, help_text="by visit and form over the sites in scope")
    sites = QualitySiteOut(many=True)
    retention = QualityRetentionOut(many=True)


class QualityView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=QualityOut,
        summary="Data quality: forms expected, complete, overdue, not done and out of window; "
        "queries; source-data verification; retention (pooled over the arms)",
    )
    def get(self, request):
        return Response(quality_of(scope_of(request)).as_dict())


class QualityCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Data quality as CSV: site, visit, form, expected, complete, overdue, not_done, "
        "out_of_window",
    )
    def get(self, request):
        report = quality_of(scope_of(request))
        return csv_download(
            csv_lines(report.csv_header(), report.csv_rows()), filename="quality.csv"
        )

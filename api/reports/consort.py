"""The CONSORT flow diagram as JSON and CSV, and the listing behind each number: the same
figures, scope and concealment as the page (`reports.consort`, `reports.listings`)."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import PagePagination
from core.csvfile import csv_download, csv_lines
from reports.consort import consort_of
from reports.listings import listing_of

from .common import FILTER_PARAMETERS, scope_of


class ConsortFigureOut(serializers.Serializer):
    node = serializers.CharField(help_text="the listing behind the number")
    label = serializers.CharField()
    count = serializers.IntegerField()
    level = serializers.IntegerField(help_text="0 a group, 1 a reason within it")


class ConsortBoxOut(ConsortFigureOut):
    key = serializers.CharField()
    arm = serializers.CharField(help_text="the arm's code when split by arm, else empty")
    lines = ConsortFigureOut(many=True)


class ConsortStageOut(serializers.Serializer):
    key = serializers.ChoiceField(choices=["enrolment", "allocation", "follow_up", "analysis"])
    title = serializers.CharField()
    boxes = ConsortBoxOut(many=True)


class ConsortArmOut(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class ConsortOut(serializers.Serializer):
    by_arm = serializers.BooleanField(
        help_text="split by arm after randomisation; otherwise every figure is pooled"
    )
    arms = ConsortArmOut(many=True, help_text="the arms the figures are split by")
    stages = ConsortStageOut(many=True)


class ConsortListingRowOut(serializers.Serializer):
    screening = serializers.CharField()
    family = serializers.CharField(help_text="trial identifier; empty if never enrolled")
    site = serializers.CharField()
    referred_on = serializers.DateField()
    randomised_on = serializers.DateField(allow_null=True)
    reason = serializers.CharField()
    arm = serializers.CharField(
        source="arm_label", help_text="the arm's label, only when split by arm"
    )


class ConsortView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=ConsortOut,
        summary="The CONSORT flow diagram's figures (by arm only where the viewer may see arms)",
    )
    def get(self, request):
        return Response(consort_of(scope_of(request)).as_dict())


class ConsortCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The CONSORT figures as CSV: node, label, arm (empty when pooled), count",
    )
    def get(self, request):
        report = consort_of(scope_of(request))
        return csv_download(
            csv_lines(report.csv_header(), report.csv_rows()), filename="consort.csv"
        )


class ConsortListingView(APIView):
    pagination_class = PagePagination

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=ConsortListingRowOut(many=True),
        summary="The referrals or families behind one number of the CONSORT diagram",
    )
    def get(self, request, node: str):
        listing = listing_of(scope_of(request), node)
        if listing is None:
            raise Http404("The diagram has no such number.")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(listing.rows, request, view=self)
        rows = ConsortListingRowOut(listing.shaped(page), many=True).data
        return paginator.get_paginated_response(rows)

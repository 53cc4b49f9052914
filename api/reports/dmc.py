"""DMC reports: ask for one (a job), poll it, download its PDF. The open report for the trial
manager and the statisticians; the closed report for the unblinded statistician alone."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from reports.dmc import dmc_report_download, dmc_report_request, dmc_reports_visible_to
from reports.models import DmcReport
from trial.selectors import trial_named


class DmcReportOut(serializers.ModelSerializer):
    trial = serializers.CharField(source="trial.code")
    requested_by = serializers.CharField(source="requested_by.username")
    percent = serializers.IntegerField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = DmcReport
        fields = [
            "id",
            "trial",
            "part",
            "status",
            "step",
            "done_steps",
            "total_steps",
            "percent",
            "data_as_of",
            "file_name",
            "size",
            "sha256",
            "error",
            "requested_by",
            "requested_at",
            "finished_at",
            "download",
        ]

    def get_download(self, report: DmcReport) -> str | None:
        if report.status != DmcReport.Status.DONE:
            return None
        return f"/api/v1/reports/dmc/{report.pk}/download/"


class DmcReportIn(serializers.Serializer):
    trial = serializers.CharField(required=False, max_length=6)
    part = serializers.ChoiceField(
        choices=DmcReport.Part.values,
        help_text="open: pooled over the arms; closed: the open part, then the arms compared",
    )


class DmcReportsView(generics.ListAPIView):
    serializer_class = DmcReportOut

    def get_queryset(self):
        return dmc_reports_visible_to(self.request.user)

    @extend_schema(
        request=DmcReportIn,
        responses={202: DmcReportOut},
        summary="Ask for a DMC report of the whole trial, data as of today: a job to poll",
    )
    def post(self, request):
        data = DmcReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        report = dmc_report_request(
            trial=trial_named(request.user, fields.get("trial")),
            actor=request.user,
            channel=Channel.API,
            part=fields["part"],
        )
        report = dmc_reports_visible_to(request.user).get(pk=report.pk)
        return Response(DmcReportOut(report).data, status=status.HTTP_202_ACCEPTED)


class DmcReportView(generics.RetrieveAPIView):
    serializer_class = DmcReportOut
    lookup_url_kwarg = "report_id"

    def get_queryset(self):
        return dmc_reports_visible_to(self.request.user)


class DmcReportDownloadView(APIView):
    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="Download a DMC report's PDF (recorded in the audit trail)",
    )
    def get(self, request, report_id: int):
        report = get_object_or_404(dmc_reports_visible_to(request.user), pk=report_id)
        path = dmc_report_download(report=report, actor=request.user, channel=Channel.API)
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=path.name,
            content_type="application/pdf",
        )

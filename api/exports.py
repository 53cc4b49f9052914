"""Analysis exports: ask for one (a job), poll it, download its bundle. Statisticians."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from dataset.exporting import export_download, export_request
from dataset.models import Export
from dataset.selectors import exports_visible_to
from trial.selectors import trial_named


class ExportOut(serializers.ModelSerializer):
    trial = serializers.CharField(source="trial.code")
    kind = serializers.SerializerMethodField()
    lock_version = serializers.IntegerField(source="lock.version", allow_null=True)
    population = serializers.CharField(source="lock.population", allow_null=True)
    plan_version = serializers.CharField(source="plan.version", allow_null=True)
    requested_by = serializers.CharField(source="requested_by.username")
    percent = serializers.IntegerField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "trial",
            "kind",
            "interim",
            "lock_version",
            "population",
            "plan_version",
            "status",
            "step",
            "percent",
            "bundle_id",
            "size",
            "sha256",
            "manifest_sha256",
            "error",
            "requested_by",
            "requested_at",
            "finished_at",
            "download",
        ]

    def get_kind(self, export: Export) -> str:
        return "blinded" if export.blinded else "unblinded"

    def get_download(self, export: Export) -> str | None:
        if export.status != Export.Status.DONE:
            return None
        return f"/api/v1/exports/{export.pk}/download/"


class ExportIn(serializers.Serializer):
    trial = serializers.CharField(required=False, max_length=6)
    kind = serializers.ChoiceField(choices=["blinded", "unblinded"])
    interim = serializers.BooleanField(
        help_text="a snapshot of data not locked (marked so in every file)"
    )
    population = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="a locked population's key"
    )


class ExportsView(generics.ListAPIView):
    serializer_class = ExportOut

    def get_queryset(self):
        return exports_visible_to(self.request.user)

    @extend_schema(
        request=ExportIn,
        responses={202: ExportOut},
        summary="Ask for an export bundle: a job to poll (statisticians)",
    )
    def post(self, request):
        data = ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        export = export_request(
            trial=trial_named(request.user, fields.get("trial")),
            actor=request.user,
            channel=Channel.API,
            blinded=fields["kind"] == "blinded",
            interim=fields["interim"],
            population=fields.get("population", ""),
        )
        export = exports_visible_to(request.user).get(pk=export.pk)
        return Response(ExportOut(export).data, status=status.HTTP_202_ACCEPTED)


class ExportView(generics.RetrieveAPIView):
    serializer_class = ExportOut
    lookup_url_kwarg = "export_id"

    def get_queryset(self):
        return exports_visible_to(self.request.user)


class ExportDownloadView(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        summary="Download an export's bundle (recorded in the audit trail)",
    )
    def get(self, request, export_id: int):
        export = get_object_or_404(exports_visible_to(request.user), pk=export_id)
        path = export_download(export=export, actor=request.user, channel=Channel.API)
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=f"{export.bundle_id}.zip",
            content_type="application/zip",
        )

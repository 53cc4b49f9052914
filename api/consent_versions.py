from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from sites.selectors import sites_visible_to
from trial.consents import consent_version_activate, consent_version_create
from trial.models import ConsentVersion, ConsentVersionSite
from trial.selectors import trial_named, trials_visible_to

from .openapi import BODY_NAMES_A_RECORD
from .permissions import ManagerWrites


class VersionSiteOut(serializers.ModelSerializer):
    site_code = serializers.CharField(source="site.code")

    class Meta:
        model = ConsentVersionSite
        fields = ["site", "site_code", "effective_from"]


class ConsentVersionOut(serializers.ModelSerializer):
    sites = serializers.SerializerMethodField()

    class Meta:
        model = ConsentVersion
        fields = ["id", "version", "ethics_approval_date", "items", "reconsent_required", "sites"]

    def get_sites(self, version) -> list[dict]:
        visible = {s.pk for s in self.context["sites"]}
        return VersionSiteOut(
            [p for p in version.sites.all() if p.site_id in visible], many=True
        ).data


class ConsentVersionIn(serializers.Serializer):
    trial = serializers.CharField(required=False)
    version = serializers.CharField(max_length=30)
    ethics_approval_date = serializers.DateField()
    items = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=False)
    reconsent_required = serializers.BooleanField(required=False, default=False)


class VersionActivateIn(serializers.Serializer):
    site = serializers.IntegerField()
    effective_from = serializers.DateField()


def _context(request) -> dict:
    return {"sites": list(sites_visible_to(request.user))}


class ConsentVersionListView(generics.ListAPIView):
    permission_classes = [ManagerWrites]
    serializer_class = ConsentVersionOut

    def get_queryset(self):
        return ConsentVersion.objects.filter(
            trial__in=trials_visible_to(self.request.user)
        ).prefetch_related("sites__site")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **_context(self.request)}

    @extend_schema(
        request=ConsentVersionIn,
        responses={201: ConsentVersionOut},
        summary="Publish a consent form version (trial manager)",
    )
    def post(self, request):
        data = ConsentVersionIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trial = trial_named(request.user, fields.pop("trial", None))
        version = consent_version_create(
            trial=trial, actor=request.user, channel=Channel.API, **fields
        )
        return Response(
            ConsentVersionOut(version, context=_context(request)).data,
            status=status.HTTP_201_CREATED,
        )


class ConsentVersionActivateView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(
        request=VersionActivateIn,
        responses={201: ConsentVersionOut, **BODY_NAMES_A_RECORD},
        summary="Put a version in use at a site from a date (trial manager)",
    )
    def post(self, request, version_id: int):
        version = get_object_or_404(
            ConsentVersion.objects.filter(trial__in=trials_visible_to(request.user)), pk=version_id
        )
        data = VersionActivateIn(data=request.data)
        data.is_valid(raise_exception=True)
        site = get_object_or_404(sites_visible_to(request.user), pk=data.validated_data["site"])
        consent_version_activate(
            version=version,
            site=site,
            actor=request.user,
            channel=Channel.API,
            effective_from=data.validated_data["effective_from"],
        )
        return Response(
            ConsentVersionOut(version, context=_context(request)).data,
            status=status.HTTP_201_CREATED,
        )

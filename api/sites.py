from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from sites.lifecycle import site_move_status, site_register, site_update
from sites.models import Site, SiteStatus
from sites.selectors import sites_visible_to
from trial.selectors import trial_named

from .fields import UserBriefOut, VisibleUserField, supplied
from .permissions import ManagerWrites


class SiteStatusStepOut(serializers.Serializer):
    from_status = serializers.ChoiceField(choices=SiteStatus.choices)
    to_status = serializers.ChoiceField(choices=SiteStatus.choices)
    effective_date = serializers.DateField()
    note = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    recorded_at = serializers.DateTimeField()


class SiteOut(serializers.ModelSerializer):
    trial = serializers.CharField(source="trial.code")
    principal_investigator = UserBriefOut(allow_null=True)
    can_recruit = serializers.BooleanField()
    status_steps = SiteStatusStepOut(many=True)

    class Meta:
        model = Site
        fields = [
            "id",
            "trial",
            "code",
            "name",
            "nhs_trust",
            "local_authority",
            "principal_investigator",
            "recruitment_target",
            "status",
            "can_recruit",
            "ethics_approval_date",
            "rnd_approval_date",
            "status_steps",
        ]


class SiteRegisterIn(serializers.Serializer):
    trial = serializers.CharField(required=False, help_text="Trial code; optional with one trial")
    code = serializers.CharField(
        max_length=3,
        help_text="Three capital letters, e.g. BUC",
        error_messages={"max_length": "Site code must be exactly 3 capital letters, e.g. BUC."},
    )
    name = serializers.CharField(max_length=200)
    nhs_trust = serializers.CharField(max_length=200)
    local_authority = serializers.CharField(max_length=200)
    recruitment_target = serializers.IntegerField(min_value=1, max_value=100_000)


class SiteUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    nhs_trust = serializers.CharField(max_length=200, required=False)
    local_authority = serializers.CharField(max_length=200, required=False)
    recruitment_target = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    principal_investigator = VisibleUserField(allow_null=True, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class SiteStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=SiteStatus.choices)
    effective_date = serializers.DateField(required=False, allow_null=True)
    ethics_approval_date = serializers.DateField(required=False, allow_null=True)
    rnd_approval_date = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class SiteFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=SiteStatus.choices)

    class Meta:
        model = Site
        fields = ["status"]


def visible_sites(user):
    return (
        sites_visible_to(user)
        .select_related("trial", "principal_investigator")
        .prefetch_related("status_steps__recorded_by")
    )


class SiteListView(generics.ListAPIView):
    permission_classes = [ManagerWrites]
    serializer_class = SiteOut
    filterset_class = SiteFilter

    def get_queryset(self):
        return visible_sites(self.request.user)

    @extend_schema(
        request=SiteRegisterIn,
        responses={201: SiteOut},
        summary="Register a proposed site (trial manager)",
    )
    def post(self, request):
        data = SiteRegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trial = trial_named(request.user, fields.pop("trial", None))
        site = site_register(trial=trial, actor=request.user, channel=Channel.API, **fields)
        return Response(
            SiteOut(visible_sites(request.user).get(pk=site.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class SiteDetailView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(responses=SiteOut, summary="One site")
    def get(self, request, site_id: int):
        return Response(SiteOut(get_object_or_404(visible_sites(request.user), pk=site_id)).data)

    @extend_schema(
        request=SiteUpdateIn,
        responses=SiteOut,
        summary="Change a site's details or principal investigator (trial manager)",
    )
    def patch(self, request, site_id: int):
        site = get_object_or_404(visible_sites(request.user), pk=site_id)
        data = SiteUpdateIn(data=request.data, partial=True, context={"request": request})
        data.is_valid(raise_exception=True)
        changes = supplied(data)
        reason = changes.pop("reason", "")
        site_update(site=site, actor=request.user, channel=Channel.API, reason=reason, **changes)
        return Response(SiteOut(visible_sites(request.user).get(pk=site.pk)).data)


class SiteStatusView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(
        request=SiteStatusIn,
        responses=SiteOut,
        summary="Move a site one status step along (trial manager)",
    )
    def post(self, request, site_id: int):
        site = get_object_or_404(visible_sites(request.user), pk=site_id)
        data = SiteStatusIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        site_move_status(
            site=site,
            actor=request.user,
            channel=Channel.API,
            to_status=fields.pop("status"),
            **fields,
        )
        return Response(SiteOut(visible_sites(request.user).get(pk=site.pk)).data)

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from core.roles import Duty, Role
from sites.memberships import delegation_end, delegation_grant, membership_end, membership_grant
from sites.models import Delegation, Membership
from sites.selectors import delegations_visible_to, memberships_visible_to, sites_visible_to
from trial.selectors import trial_named

from .fields import UserBriefOut, VisibleUserField
from .permissions import ManagerWrites


class DelegationOut(serializers.ModelSerializer):
    class Meta:
        model = Delegation
        fields = ["id", "membership", "duty", "starts_on", "ends_on"]


class MembershipOut(serializers.ModelSerializer):
    user = UserBriefOut()
    trial = serializers.CharField(source="trial.code")
    site_code = serializers.CharField(source="site.code", allow_null=True, default=None)
    delegations = DelegationOut(many=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "user",
            "trial",
            "site",
            "site_code",
            "role",
            "starts_on",
            "ends_on",
            "delegations",
        ]


class MembershipGrantIn(serializers.Serializer):
    trial = serializers.CharField(required=False, help_text="Trial code; optional with one trial")
    user = VisibleUserField()
    role = serializers.ChoiceField(choices=Role.choices)
    site = serializers.IntegerField(
        required=False, allow_null=True, help_text="Site id; empty for trial-wide roles"
    )
    starts_on = serializers.DateField(required=False, allow_null=True)


class EndIn(serializers.Serializer):
    ends_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DelegationGrantIn(serializers.Serializer):
    duty = serializers.ChoiceField(choices=Duty.choices)
    starts_on = serializers.DateField(required=False, allow_null=True)


class MembershipFilter(filters.FilterSet):
    open = filters.BooleanFilter(field_name="ends_on", lookup_expr="isnull", label="open")

    class Meta:
        model = Membership
        fields = ["site", "role", "user"]


def visible_memberships(user):
    return memberships_visible_to(user).prefetch_related("delegations")


class MembershipListView(generics.ListAPIView):
    permission_classes = [ManagerWrites]
    serializer_class = MembershipOut
    filterset_class = MembershipFilter

    def get_queryset(self):
        return visible_memberships(self.request.user)

    @extend_schema(
        request=MembershipGrantIn,
        responses={201: MembershipOut},
        summary="Grant a user a role at a site or across the trial (trial manager)",
    )
    def post(self, request):
        data = MembershipGrantIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trial = trial_named(request.user, fields.pop("trial", None))
        site_id = fields.pop("site", None)
        site = get_object_or_404(sites_visible_to(request.user), pk=site_id) if site_id else None
        membership = membership_grant(
            actor=request.user, channel=Channel.API, trial=trial, site=site, **fields
        )
        return Response(
            MembershipOut(visible_memberships(request.user).get(pk=membership.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class MembershipDetailView(APIView):
    @extend_schema(responses=MembershipOut, summary="One membership with its delegation log")
    def get(self, request, membership_id: int):
        membership = get_object_or_404(visible_memberships(request.user), pk=membership_id)
        return Response(MembershipOut(membership).data)


class MembershipEndView(APIView):
    permission_classes = [ManagerWrites]

    @extend_schema(
        request=EndIn,
        responses=MembershipOut,
        summary="End a role on a date (trial manager); its duties end with it",
    )
    def post(self, request, membership_id: int):
        membership = get_object_or_404(visible_memberships(request.user), pk=membership_id)
        data = EndIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership_end(
            membership=membership, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(MembershipOut(visible_memberships(request.user).get(pk=membership.pk)).data)


class DelegationListView(APIView):
    @extend_schema(
        responses=DelegationOut(many=True), summary="The delegation log lines under one membership"
    )
    def get(self, request, membership_id: int):
        membership = get_object_or_404(visible_memberships(request.user), pk=membership_id)
        return Response(DelegationOut(membership.delegations.all(), many=True).data)

    @extend_schema(
        request=DelegationGrantIn,
        responses={201: DelegationOut},
        summary="Delegate a duty (trial manager, or the site's principal investigator)",
    )
    def post(self, request, membership_id: int):
        membership = get_object_or_404(visible_memberships(request.user), pk=membership_id)
        data = DelegationGrantIn(data=request.data)
        data.is_valid(raise_exception=True)
        delegation = delegation_grant(
            membership=membership, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(DelegationOut(delegation).data, status=status.HTTP_201_CREATED)


class DelegationEndView(APIView):
    @extend_schema(request=EndIn, responses=DelegationOut, summary="End a delegated duty on a date")
    def post(self, request, delegation_id: int):
        delegation = get_object_or_404(delegations_visible_to(request.user), pk=delegation_id)
        data = EndIn(data=request.data)
        data.is_valid(raise_exception=True)
        delegation = delegation_end(
            delegation=delegation, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(DelegationOut(delegation).data)

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from core.roles import Role
from sites.accounts import password_change
from sites.selectors import open_memberships


class MyRoleOut(serializers.Serializer):
    trial = serializers.CharField(source="trial.code")
    site_id = serializers.IntegerField(allow_null=True)
    site_code = serializers.CharField(source="site.code", allow_null=True, default=None)
    role = serializers.ChoiceField(choices=Role.choices)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    duties = serializers.SerializerMethodField()

    def get_duties(self, membership) -> list[str]:
        return sorted(d.duty for d in membership.delegations.all() if d.ends_on is None)


class MeOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")
    email = serializers.EmailField()
    roles = serializers.SerializerMethodField()

    @extend_schema_field(MyRoleOut(many=True))
    def get_roles(self, user) -> list[dict]:
        memberships = (
            open_memberships(user).select_related("trial", "site").prefetch_related("delegations")
        )
        return MyRoleOut(memberships, many=True).data


class MeView(APIView):
    @extend_schema(responses=MeOut, summary="The signed-in user and their roles per site")
    def get(self, request):
        return Response(MeOut(request.user).data)


class PasswordChangeIn(serializers.Serializer):
    old_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(max_length=4096, trim_whitespace=False)


class PasswordChangedOut(serializers.Serializer):
    tokens_revoked = serializers.IntegerField(
        help_text="every API token of yours, this one included, now answers 401"
    )


class PasswordChangeView(APIView):
    @extend_schema(
        request=PasswordChangeIn,
        responses=PasswordChangedOut,
        summary="Change your password; every API token of yours is revoked",
    )
    def post(self, request):
        data = PasswordChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        revoked = password_change(user=request.user, channel=Channel.API, **data.validated_data)
        return Response({"tokens_revoked": revoked}, status=status.HTTP_200_OK)

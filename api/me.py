from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from sites.roles import Role
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

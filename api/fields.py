from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sites.models import Membership
from sites.selectors import sites_visible_to, users_visible_to


class UserBriefOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")


def supplied(serializer: serializers.Serializer) -> dict:
    """Only the fields the client sent (a PATCH must not blank the others)."""
    return {k: v for k, v in serializer.validated_data.items() if k in serializer.initial_data}


@extend_schema_field(OpenApiTypes.INT)
class VisibleUserField(serializers.PrimaryKeyRelatedField):
    """A user id, looked up only among the accounts the requester may see, so that an
    id outside them reads as unknown rather than as someone else's account."""

    def get_queryset(self):

        return users_visible_to(self.context["request"].user).filter(is_active=True)


@extend_schema_field(OpenApiTypes.INT)
class SiteStaffField(serializers.PrimaryKeyRelatedField):
    """A user id among the staff of the sites the requester can see."""

    def get_queryset(self):

        staff = Membership.objects.filter(site__in=sites_visible_to(self.context["request"].user))
        return get_user_model().objects.filter(is_active=True, memberships__in=staff).distinct()

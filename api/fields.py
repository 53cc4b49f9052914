from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from core.errors import TrialError
from sites.models import Membership
from sites.selectors import sites_visible_to, users_visible_to
from trial.lookup import family_identifier_typed, typed_identifier


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


# The OpenAPI extension that marks a parameter or a body field as a trial identifier typed
# whole: the identifier tests walk the schema for it, so a new one is checked with the rest.
IDENTIFIER_MARK = "x-identifier"
_CHECKED = "A trial identifier with its check character (the last one), e.g. RC-BUC-0007-K"


def identifier_parameter(name: str, *, description: str) -> OpenApiParameter:
    """A query parameter that takes a trial identifier: a wrong check character is a 400
    naming the parameter."""
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        description=f"{description}. {_CHECKED}: a wrong check character is a 400.",
        extensions={IDENTIFIER_MARK: True},
    )


def identifier_param(request, name: str, *, families_only: bool = True) -> str:
    """The query parameter `name` as a checked identifier ("" when absent); a mistyped one
    is a TrialError naming the parameter (the API's 400)."""
    text = request.query_params.get(name, "").strip()
    if not text:
        return ""
    if families_only:
        return family_identifier_typed(text, field=name)
    return typed_identifier(text, field=name)


@extend_schema_field(
    {"type": "string", "description": _CHECKED, IDENTIFIER_MARK: True, "maxLength": 32}
)
class TypedIdentifierField(serializers.CharField):
    """A body field that takes a trial identifier typed whole, its check character checked
    (a family's; `families_only=False` takes a referral's too). Returned in capitals."""

    def __init__(self, *, families_only: bool = True, **kwargs):
        self.families_only = families_only
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        text = super().to_internal_value(data)
        check = family_identifier_typed if self.families_only else typed_identifier
        try:
            return check(text, field=self.field_name)
        except TrialError as exc:
            raise serializers.ValidationError(exc.message) from None

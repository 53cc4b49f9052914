from django import forms
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import CHAINED_FIELDS, AuditEvent, ReviewSignoff
from core.channels import Channel
from randomisation.concealment import blindness_of
from review.concealment import shaped_for
from review.export import csv_response
from review.forms import EventFilterForm
from review.selectors import (
    AUDIT_READERS,
    EventFilter,
    audit_sites_of,
    events_visible_to,
    filter_events,
    signoffs_covering,
)
from review.services import review_signoff
from sites.models import Site
from sites.selectors import open_memberships

from .fields import identifier_parameter
from .openapi import BODY_NAMES_A_RECORD


class ReadsAudit(BasePermission):
    message = "Only a monitor or the trial manager can review the audit trail."

    def has_permission(self, request, view) -> bool:
        return (
            request.user.is_authenticated
            and open_memberships(request.user).filter(role__in=AUDIT_READERS).exists()
        )


class EventCursor(CursorPagination):
    """Keyset pagination on seq: each page seeks `seq < cursor` on the index."""

    ordering = "-seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


_PARAM_TYPES = {
    forms.DateField: OpenApiTypes.DATE,
    forms.BooleanField: bool,
    forms.ModelChoiceField: int,
}
FILTER_PARAMETERS = [
    identifier_parameter(name, description="One family's events, by its trial identifier")
    if name == "family"
    else OpenApiParameter(
        name, _PARAM_TYPES.get(type(field), str), description=str(field.help_text)
    )
    for name, field in EventFilterForm(sites=Site.objects.none()).fields.items()
]


def parse_filter(request) -> EventFilter:
    form = EventFilterForm(request.query_params, sites=audit_sites_of(request.user))
    if not form.is_valid():
        raise serializers.ValidationError(form.errors)
    return form.to_filter()


class ChangeOut(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class SignoffBriefOut(serializers.Serializer):
    id = serializers.IntegerField()
    reviewer = serializers.CharField(source="reviewer.username")
    signed_at = serializers.DateTimeField()


class AuditEventOut(serializers.ModelSerializer):
    changes = serializers.SerializerMethodField()
    reviewed_by = serializers.SerializerMethodField()
    withheld = serializers.BooleanField(
        help_text='true: what would reveal an arm is withheld from you ("arm concealed")'
    )

    class Meta:
        model = AuditEvent
        fields = [
            *CHAINED_FIELDS,
            "conceal",
            "withheld",
            "reviewed_by",
            "pos",
            "prev_hash",
            "hash",
        ]

    @extend_schema_field(ChangeOut(many=True))
    def get_changes(self, event) -> list[dict]:
        return [
            {
                "field": k,
                "old": v[0] if isinstance(v, list) and len(v) == 2 else None,
                "new": v[1] if isinstance(v, list) and len(v) == 2 else v,
            }
            for k, v in sorted(event.changes.items())
        ]

    @extend_schema_field(SignoffBriefOut(many=True))
    def get_reviewed_by(self, event) -> list[dict]:
        covering = self.context.get("signoffs", {}).get(event.seq, [])
        return SignoffBriefOut(covering, many=True).data


class AuditEventListView(generics.ListAPIView):
    permission_classes = [ReadsAudit]
    serializer_class = AuditEventOut
    pagination_class = EventCursor
    filter_backends: list = []

    def get_queryset(self):
        self.blindness = blindness_of(self.request.user)
        return filter_events(
            events_visible_to(self.request.user),
            parse_filter(self.request),
            blindness=self.blindness,
        )

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        summary="Audit events, newest first, filtered; keyset (cursor) pages",
    )
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        page = shaped_for(page, self.blindness)
        context = {"signoffs": signoffs_covering(page), "request": request}
        return self.get_paginated_response(AuditEventOut(page, many=True, context=context).data)


class AuditExportView(APIView):
    permission_classes = [ReadsAudit]

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The filtered events as CSV, streamed (the export is itself recorded)",
    )
    def get(self, request):
        return csv_response(
            actor=request.user, event_filter=parse_filter(request), channel=Channel.API
        )


class SignoffOut(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username")
    site_code = serializers.CharField(source="site.code")

    class Meta:
        model = ReviewSignoff
        fields = [
            "id",
            "reviewer",
            "site",
            "site_code",
            "first_seq",
            "last_seq",
            "note",
            "signed_at",
        ]


class SignoffIn(serializers.Serializer):
    site = serializers.IntegerField()
    first_seq = serializers.IntegerField(min_value=1)
    last_seq = serializers.IntegerField(min_value=1)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SignoffListView(generics.ListAPIView):
    permission_classes = [ReadsAudit]
    serializer_class = SignoffOut

    def get_queryset(self):
        return ReviewSignoff.objects.filter(
            site__in=audit_sites_of(self.request.user)
        ).select_related("reviewer", "site")

    @extend_schema(
        request=SignoffIn,
        responses={201: SignoffOut, **BODY_NAMES_A_RECORD},
        summary="Sign off a range of a site's events as reviewed",
    )
    def post(self, request):
        data = SignoffIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        site = get_object_or_404(audit_sites_of(request.user), pk=fields.pop("site"))
        signoff = review_signoff(actor=request.user, channel=Channel.API, site=site, **fields)
        return Response(SignoffOut(signoff).data, status=status.HTTP_201_CREATED)

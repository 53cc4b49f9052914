from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from dataset.selectors import deviations_visible_to
from trial.deviations import deviation_review
from trial.models import ProtocolDeviation


class DeviationOut(serializers.ModelSerializer):
    family = serializers.CharField(source="family.identifier")
    site_code = serializers.CharField(source="family.site.code")
    recorded_by = serializers.CharField(source="recorded_by.username")
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True)

    class Meta:
        model = ProtocolDeviation
        fields = [
            "id",
            "family",
            "site_code",
            "kind",
            "severity",
            "occurred_on",
            "description",
            "action",
            "recorded_by",
            "recorded_at",
            "reviewed_by",
            "reviewed_at",
            "review_note",
        ]


class DeviationListView(generics.ListAPIView):
    """Protocol deviations at your sites; ?reviewed=0 for those waiting for review."""

    serializer_class = DeviationOut

    def get_queryset(self):
        found = deviations_visible_to(self.request.user).order_by("-occurred_on", "-pk")
        if self.request.query_params.get("reviewed") == "0":
            found = found.filter(reviewed_at__isnull=True)
        return found


class ReviewIn(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, help_text="what the review found or decided")


class DeviationReviewView(APIView):
    @extend_schema(
        request=ReviewIn, responses=DeviationOut, summary="Review a deviation (trial manager)"
    )
    def post(self, request, deviation_id: int):
        found = get_object_or_404(deviations_visible_to(request.user), pk=deviation_id)
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = deviation_review(
            deviation=found, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(DeviationOut(done).data)

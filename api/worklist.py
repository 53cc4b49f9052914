"""The caller's work list: the home page's lists, for a client of the API."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from worklist.selectors import remember_waiting, work_for


class ItemOut(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.CharField(help_text="the page that clears it; blank: another role does")
    family = serializers.CharField()
    site = serializers.CharField()
    since = serializers.DateField(allow_null=True, help_text="the list is oldest first")
    note = serializers.CharField()
    overdue = serializers.BooleanField()


class SectionOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    role = serializers.CharField()
    items = ItemOut(many=True)


class WorklistOut(serializers.Serializer):
    waiting = serializers.IntegerField()
    sections = SectionOut(many=True)


class WorklistView(APIView):
    @extend_schema(responses=WorklistOut, summary="What is waiting for you, role by role")
    def get(self, request):
        sections = work_for(request.user)
        return Response(
            WorklistOut(
                {"waiting": remember_waiting(request.user, sections), "sections": sections}
            ).data
        )

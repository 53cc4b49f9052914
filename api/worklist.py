"""The caller's work list: the home page's lists, for a client of the API. Each section
gives its count and its oldest items, as the home page does; the whole section is a page
at a time at its own address, as on the site."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from worklist.selectors import ON_HOME, remember_waiting, section_of, work_for


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
    count = serializers.IntegerField(help_text="how many items the section holds")
    items = ItemOut(many=True, help_text=f"the oldest {ON_HOME} items")
    all = serializers.CharField(help_text="every item of the section, a page at a time")


class WorklistOut(serializers.Serializer):
    waiting = serializers.IntegerField()
    sections = SectionOut(many=True)


class WorklistView(APIView):
    @extend_schema(responses=WorklistOut, summary="What is waiting for you, role by role")
    def get(self, request):
        sections = work_for(request.user)
        shown = [
            {
                "key": s.key,
                "label": s.label,
                "role": s.role,
                "count": len(s.items),
                "items": s.first,
                "all": reverse("api-worklist-section", args=[s.role, s.key]),
            }
            for s in sections
        ]
        return Response(
            WorklistOut(
                {"waiting": remember_waiting(request.user, sections), "sections": shown}
            ).data
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="v1_worklist_section_list",
        parameters=[
            OpenApiParameter("role", str, OpenApiParameter.PATH, description="the role's key"),
            OpenApiParameter("key", str, OpenApiParameter.PATH, description="the section's key"),
        ],
        summary="One section of your work list, whole, a page at a time",
    )
)
class WorklistSectionView(ListAPIView):
    serializer_class = ItemOut
    filter_backends = []  # a list of work, not of records: nothing to filter by

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's look at the view
            return []
        section = section_of(self.request.user, self.kwargs["role"], self.kwargs["key"])
        if section is None:
            raise NotFound("No such list of work of yours.")
        return section.items

"""Safety events (serious adverse events and safeguarding incidents) and emergency
unblinding. The same services, scope and refusals as the pages (safety/views.py): events are
hidden where the reader is blinded (another site's, or a blinded site's, event is not
found), a reader blinded at every site they see is refused the listing, and a reader blinded
anywhere is refused a listing by relatedness."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from core.csvfile import csv_download, csv_lines
from core.errors import NotPermitted, TrialError
from safety.clock import Due
from safety.models import EmergencyUnblinding, SafetyEvent, SafetyFollowUp, SafetyStatus
from safety.selectors import (
    CSV_HEADER,
    KINDS,
    REFUSED_TO_BLINDED,
    RELATEDNESS,
    SERIOUSNESS,
    ListedEvent,
    counts_of,
    csv_rows,
    may_read_safety,
    safety_events_visible_to,
    safety_filter,
    safety_listing,
    steps_of,
    unblindings_visible_to,
)
from safety.services import sae_assess, sae_follow_up, sae_rec_report, sae_report, sae_review
from safety.unblinding import unblinding_decide, unblinding_request, unblinding_show
from trial.lookup import family_identifier_typed
from trial.selectors import families_visible_to

from .openapi import BODY_NAMES_A_RECORD


def _moment(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


class SafetyStepOut(serializers.Serializer):
    step = serializers.CharField(help_text="report, assess or rec")
    label = serializers.CharField()
    due = serializers.SerializerMethodField(
        help_text="a date-time (UTC), or a date for a step due by the end of that day"
    )
    done = serializers.SerializerMethodField(help_text="when it was done; null while open")
    late = serializers.BooleanField(help_text="done after its due time, or open and past it")
    open = serializers.BooleanField()

    def get_due(self, step: Due) -> str:
        return _moment(step.due)

    def get_done(self, step: Due) -> str | None:
        return _moment(step.done)


class SafetyEventOut(serializers.Serializer):
    """One event as the listing shows it: a `ListedEvent` (the event with its clock)."""

    id = serializers.IntegerField(source="event.pk")
    family = serializers.CharField(source="event.family.identifier")
    site_code = serializers.CharField(source="event.family.site.code")
    response = serializers.IntegerField(source="event.response_id", help_text="the safety form")
    kind = serializers.CharField(source="event.kind")
    # Plain text: a named enum shared by the list and the detail components collides with
    # the other components' "status" (settings' ENUM_NAME_OVERRIDES would name it).
    status = serializers.CharField(
        source="event.status", help_text=f"one of: {', '.join(SafetyStatus.values)}"
    )
    event_date = serializers.SerializerMethodField()
    aware_at = serializers.DateTimeField(source="event.aware_at")
    reported_at = serializers.DateTimeField(source="event.reported_at")
    late_reason = serializers.CharField(source="event.late_reason")
    seriousness = serializers.SerializerMethodField()
    relatedness_pi = serializers.SerializerMethodField()
    relatedness_ci = serializers.CharField(
        source="event.ci_relatedness", help_text="blank until the chief investigator's review"
    )
    expectedness_pi = serializers.SerializerMethodField()
    expectedness_ci = serializers.CharField(source="event.ci_expectedness")
    outcome = serializers.SerializerMethodField()
    safeguarding_referral = serializers.SerializerMethodField()
    referral_to = serializers.CharField(source="event.referral_to")
    referral_on = serializers.DateField(source="event.referral_on", allow_null=True)
    reportable = serializers.BooleanField(
        source="event.reportable", help_text="related and unexpected: due to the ethics committee"
    )
    rec_due_on = serializers.DateField(source="event.rec_due_on", allow_null=True)
    rec_reported_on = serializers.DateField(source="event.rec_reported_on", allow_null=True)
    rec_reference = serializers.CharField(source="event.rec_reference")
    steps = SafetyStepOut(many=True)
    late_steps = serializers.SerializerMethodField()
    overdue_steps = serializers.SerializerMethodField()

    def get_event_date(self, row: ListedEvent) -> str | None:
        return row.values.get("event_date")

    def get_seriousness(self, row: ListedEvent) -> list[str]:
        return list(row.values.get("seriousness") or [])

    def get_relatedness_pi(self, row: ListedEvent) -> str | None:
        return row.values.get("relatedness")

    def get_expectedness_pi(self, row: ListedEvent) -> str | None:
        return row.values.get("expectedness")

    def get_outcome(self, row: ListedEvent) -> str | None:
        return row.values.get("outcome")

    def get_safeguarding_referral(self, row: ListedEvent) -> bool | None:
        return row.values.get("safeguarding_referral")

    def get_late_steps(self, row: ListedEvent) -> list[str]:
        return [s.step for s in row.late]

    def get_overdue_steps(self, row: ListedEvent) -> list[str]:
        return [s.step for s in row.overdue]


class SafetyFollowUpOut(serializers.ModelSerializer):
    reported_by = serializers.CharField(source="reported_by.username")

    class Meta:
        model = SafetyFollowUp
        fields = ["id", "reported_at", "reported_by", "outcome", "note"]


class SafetyEventDetailOut(SafetyEventOut):
    """One event with who did each step, and its follow-up reports."""

    reported_by = serializers.CharField(source="event.reported_by.username")
    assessed_by = serializers.CharField(source="event.assessed_by.username", allow_null=True)
    assessed_at = serializers.DateTimeField(source="event.assessed_at", allow_null=True)
    assessment_meaning = serializers.CharField(source="event.assessment_meaning")
    reviewed_by = serializers.CharField(source="event.reviewed_by.username", allow_null=True)
    reviewed_at = serializers.DateTimeField(source="event.reviewed_at", allow_null=True)
    review_note = serializers.CharField(source="event.review_note")
    rec_reported_by = serializers.CharField(
        source="event.rec_reported_by.username", allow_null=True
    )
    closed_at = serializers.DateTimeField(source="event.closed_at", allow_null=True)
    follow_ups = SafetyFollowUpOut(source="event.follow_ups", many=True)


class SafetyCountsOut(serializers.Serializer):
    events = serializers.IntegerField()
    late_steps = serializers.IntegerField(help_text="steps done late or overdue")
    overdue_steps = serializers.IntegerField(help_text="steps open past their due time")
    open = serializers.IntegerField(help_text="events not closed")


class SafetyListOut(serializers.Serializer):
    counts = SafetyCountsOut()
    events = SafetyEventOut(many=True)


_YES_NO = ["yes", "no"]
FILTER_PARAMETERS = [
    OpenApiParameter("site", OpenApiTypes.STR, description="a site code (e.g. BUC) or id"),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=list(KINDS)),
    OpenApiParameter("seriousness", OpenApiTypes.STR, enum=list(SERIOUSNESS)),
    OpenApiParameter(
        "relatedness",
        OpenApiTypes.STR,
        enum=list(RELATEDNESS),
        description="the chief investigator's, else the PI's; refused (403) to a reader "
        "blinded at any site",
    ),
    OpenApiParameter("status", OpenApiTypes.STR, enum=SafetyStatus.values),
    OpenApiParameter(
        "overdue", OpenApiTypes.STR, enum=_YES_NO, description="with a step open past its due"
    ),
]


def _listing(request) -> list[ListedEvent]:
    """The page's listing: refused to a reader blinded wherever they look, then filtered."""
    if not may_read_safety(request.user):
        raise NotPermitted(REFUSED_TO_BLINDED)
    return safety_listing(request.user, safety_filter(request.query_params, request.user))


def _event(request, event_id: int) -> SafetyEvent:
    return get_object_or_404(safety_events_visible_to(request.user), pk=event_id)


def _shown(request, event_id: int) -> Response:
    """The event as the caller now sees it, read afresh through their scope."""
    event = get_object_or_404(
        safety_events_visible_to(request.user)
        .select_related("assessed_by", "reviewed_by", "rec_reported_by")
        .prefetch_related("follow_ups__reported_by"),
        pk=event_id,
    )
    steps = steps_of(event, timezone.now())
    late = [s for s in steps if s.late]
    row = ListedEvent(event, steps, late, [s for s in late if s.open])
    return SafetyEventDetailOut(row).data


class SafetyEventListView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=SafetyListOut,
        operation_id="v1_safety_events_list",
        summary="Safety events at your sites (hidden where you are blinded), newest first, "
        "each with its clock; and the counts",
    )
    def get(self, request):
        rows = _listing(request)
        return Response(SafetyListOut({"counts": counts_of(rows), "events": rows}).data)


class SafetyEventCsvView(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The safety listing as CSV, with its filters: codes as stored, times in UTC",
    )
    def get(self, request):
        rows = _listing(request)
        stamp = timezone.localdate().isoformat()
        return csv_download(
            csv_lines(CSV_HEADER, csv_rows(rows)), filename=f"safety-events-{stamp}.csv"
        )


class SafetyEventDetailView(APIView):
    @extend_schema(responses=SafetyEventDetailOut, summary="One safety event with its clock")
    def get(self, request, event_id: int):
        return Response(_shown(request, event_id))


class SaeReportIn(serializers.Serializer):
    values = serializers.DictField(
        help_text="the safety form's answers (field to value), as for any form"
    )
    aware_time = serializers.CharField(
        max_length=8,
        allow_blank=True,
        help_text="HH:MM (Europe/London) on the form's reported_on: when the site became aware",
    )
    referral_to = serializers.CharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="to whom a safeguarding referral was made",
    )
    referral_on = serializers.DateField(required=False, allow_null=True, default=None)
    late_reason = serializers.CharField(
        max_length=4000,
        required=False,
        default="",
        allow_blank=True,
        help_text="why the report is more than 24 hours after the site became aware",
    )


class FamilySafetyEventsView(APIView):
    @extend_schema(
        request=SaeReportIn,
        responses={201: SafetyEventDetailOut},
        summary="Report a safety event of a family at your site (coordinator or PI); the PI, "
        "the chief investigator and the trial manager are emailed",
    )
    def post(self, request, family_id: int):
        family = get_object_or_404(families_visible_to(request.user), pk=family_id)
        data = SaeReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        event = sae_report(
            family=family, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(_shown(request, event.pk), status=status.HTTP_201_CREATED)


class SaeAssessIn(serializers.Serializer):
    seriousness = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        default=list,
        help_text="the seriousness criteria (a serious adverse event only)",
    )
    relatedness = serializers.CharField(max_length=20, allow_blank=True)
    expectedness = serializers.CharField(max_length=20, allow_blank=True)
    password = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        help_text="your own password, re-entered to sign the assessment",
    )


class SaeAssessView(APIView):
    @extend_schema(
        request=SaeAssessIn,
        responses=SafetyEventDetailOut,
        summary="The PI's assessment, signed with their password (a wrong one is refused and "
        "the refusal recorded)",
    )
    def post(self, request, event_id: int):
        event = _event(request, event_id)
        data = SaeAssessIn(data=request.data)
        data.is_valid(raise_exception=True)
        sae_assess(event=event, actor=request.user, channel=Channel.API, **data.validated_data)
        return Response(_shown(request, event.pk))


class SaeReviewIn(serializers.Serializer):
    relatedness = serializers.CharField(max_length=20, allow_blank=True)
    expectedness = serializers.CharField(max_length=20, allow_blank=True)
    note = serializers.CharField(
        max_length=4000, allow_blank=True, help_text="what the review found"
    )


class SaeReviewView(APIView):
    @extend_schema(
        request=SaeReviewIn,
        responses=SafetyEventDetailOut,
        summary="The chief investigator's review (the same or a stronger judgement than the PI's)",
    )
    def post(self, request, event_id: int):
        event = _event(request, event_id)
        data = SaeReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        sae_review(event=event, actor=request.user, channel=Channel.API, **data.validated_data)
        return Response(_shown(request, event.pk))


class SaeFollowUpIn(serializers.Serializer):
    outcome = serializers.CharField(max_length=20, allow_blank=True)
    note = serializers.CharField(
        max_length=4000, allow_blank=True, help_text="what has happened since the last report"
    )


class SaeFollowUpView(APIView):
    @extend_schema(
        request=SaeFollowUpIn,
        responses={201: SafetyEventDetailOut},
        summary="A follow-up report by the site: the outcome as it stands (a final one "
        "closes the event)",
    )
    def post(self, request, event_id: int):
        event = _event(request, event_id)
        data = SaeFollowUpIn(data=request.data)
        data.is_valid(raise_exception=True)
        sae_follow_up(event=event, actor=request.user, channel=Channel.API, **data.validated_data)
        return Response(_shown(request, event.pk), status=status.HTTP_201_CREATED)


class SaeRecReportIn(serializers.Serializer):
    reported_on = serializers.DateField()
    reference = serializers.CharField(
        max_length=100, allow_blank=True, help_text="the ethics committee's reference"
    )


class SaeRecReportView(APIView):
    @extend_schema(
        request=SaeRecReportIn,
        responses=SafetyEventDetailOut,
        summary="Record the report to the research ethics committee (chief investigator)",
    )
    def post(self, request, event_id: int):
        event = _event(request, event_id)
        data = SaeRecReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        sae_rec_report(event=event, actor=request.user, channel=Channel.API, **data.validated_data)
        return Response(_shown(request, event.pk))


class UnblindingOut(serializers.ModelSerializer):
    family = serializers.CharField(source="family.identifier")
    site_code = serializers.CharField(source="family.site.code")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)

    class Meta:
        model = EmergencyUnblinding
        fields = [
            "id",
            "family",
            "site_code",
            "requested_by",
            "requested_at",
            "reason",
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
            "shown_at",
        ]


class UnblindingRequestIn(serializers.Serializer):
    family = serializers.CharField(
        max_length=32,
        help_text="the family's trial identifier with its check character, e.g. RC-BUC-0007-K: "
        "a wrong check character is a 400 naming family",
    )
    reason = serializers.CharField(
        max_length=4000, allow_blank=True, help_text="the safety reason the arm is needed"
    )

    def validate_family(self, value: str) -> str:
        try:
            return family_identifier_typed(value, field="family")
        except TrialError as exc:
            raise serializers.ValidationError(exc.message) from None


def _unblindings(request):
    return unblindings_visible_to(request.user).order_by("-requested_at", "-pk")


class UnblindingListView(APIView):
    @extend_schema(
        responses=UnblindingOut(many=True),
        summary="Emergency unblinding requests: your own, and every one of your trials for "
        "those who approve them",
    )
    def get(self, request):
        return Response(UnblindingOut(_unblindings(request), many=True).data)

    @extend_schema(
        request=UnblindingRequestIn,
        responses={201: UnblindingOut, **BODY_NAMES_A_RECORD},
        summary="Ask for a family's arm for a safety reason (someone blinded at its site)",
    )
    def post(self, request):
        data = UnblindingRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        family = get_object_or_404(
            families_visible_to(request.user), identifier=data.validated_data["family"]
        )
        item = unblinding_request(
            family=family,
            reason=data.validated_data["reason"],
            actor=request.user,
            channel=Channel.API,
        )
        return Response(
            UnblindingOut(_unblindings(request).get(pk=item.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class UnblindingDecideIn(serializers.Serializer):
    approve = serializers.BooleanField(help_text="true approves, false refuses")
    note = serializers.CharField(
        max_length=4000, allow_blank=True, help_text="why you approve or refuse it"
    )


class UnblindingDecideView(APIView):
    @extend_schema(
        request=UnblindingDecideIn,
        responses=UnblindingOut,
        summary="Approve or refuse a request (trial manager or chief investigator; never "
        "one's own)",
    )
    def post(self, request, item_id: int):
        item = get_object_or_404(_unblindings(request), pk=item_id)
        data = UnblindingDecideIn(data=request.data)
        data.is_valid(raise_exception=True)
        unblinding_decide(item=item, actor=request.user, channel=Channel.API, **data.validated_data)
        return Response(UnblindingOut(_unblindings(request).get(pk=item.pk)).data)


class UnblindingArmOut(serializers.Serializer):
    arm = serializers.CharField(help_text="the arm's key")
    label = serializers.CharField()


class UnblindingShowView(APIView):
    @extend_schema(
        request=None,
        responses=UnblindingArmOut,
        summary="The arm, once, to the person who asked, after approval (again: 409)",
    )
    def post(self, request, item_id: int):
        item = get_object_or_404(_unblindings(request), pk=item_id)
        arm, label = unblinding_show(item=item, actor=request.user, channel=Channel.API)
        return Response(UnblindingArmOut({"arm": arm, "label": label}).data)

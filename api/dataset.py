from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from core.errors import NotPermitted
from crf.selectors import responses_visible_to
from dataset.models import AnalysisPlan
from dataset.readiness import KINDS, lock_readiness
from dataset.selectors import (
    freezes_visible_to,
    locks_visible_to,
    may_read_readiness,
    plans_visible_to,
)
from dataset.services import (
    analysis_plan_record,
    data_freeze,
    data_lock,
    freeze_release,
    lock_unlock_approve,
    lock_unlock_request,
)
from lock.models import DataLock, Freeze
from sites.selectors import sites_visible_to
from trial.selectors import families_visible_to, trial_named

from .openapi import BODY_NAMES_A_RECORD

TRIAL = OpenApiParameter("trial", str, description="the trial's code (when you are in several)")


class BlockerOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(KINDS))
    label = serializers.CharField()
    family = serializers.CharField()
    site = serializers.CharField()
    what = serializers.CharField()
    url = serializers.CharField(help_text="the page where it is done")


class ReadinessOut(serializers.Serializer):
    trial = serializers.CharField()
    population = serializers.CharField(help_text="blank: the whole trial")
    ready = serializers.BooleanField()
    total = serializers.IntegerField()
    concealed = serializers.IntegerField(
        help_text="blockers on arm-revealing forms at sites where you are blinded: counted only"
    )
    blockers = BlockerOut(many=True)


class ReadinessView(APIView):
    @extend_schema(
        parameters=[
            TRIAL,
            OpenApiParameter("population", str, description="an analysis population's key"),
        ],
        responses=ReadinessOut,
        summary="What blocks a lock (trial manager, statisticians)",
    )
    def get(self, request):
        trial = trial_named(request.user, request.query_params.get("trial"))
        if not may_read_readiness(request.user, trial):
            raise NotPermitted("Only the trial manager or a statistician reads the lock report.")
        report = lock_readiness(
            trial, population=request.query_params.get("population", ""), viewer=request.user
        )
        return Response(
            ReadinessOut(
                {
                    "trial": trial.code,
                    "population": report.population,
                    "ready": report.ready,
                    "total": report.total,
                    "concealed": report.concealed,
                    "blockers": [
                        {**blocker.__dict__, "label": KINDS[blocker.kind]}
                        for blocker in report.blockers
                    ],
                }
            ).data
        )


class LockOut(serializers.ModelSerializer):
    trial = serializers.CharField(source="trial.code")
    locked_by = serializers.CharField(source="locked_by.username")
    unlock_requested_by = serializers.CharField(
        source="unlock_requested_by.username", allow_null=True
    )
    unlocked_by = serializers.CharField(source="unlocked_by.username", allow_null=True)
    open = serializers.BooleanField(source="is_open")

    class Meta:
        model = DataLock
        fields = [
            "id",
            "trial",
            "population",
            "forms",
            "version",
            "open",
            "locked_by",
            "locked_at",
            "ledger_seq",
            "ledger_head",
            "unlock_requested_by",
            "unlock_requested_at",
            "unlock_reason",
            "unlocked_by",
            "unlocked_at",
        ]


class LockIn(serializers.Serializer):
    trial = serializers.CharField(required=False, max_length=6)
    population = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=40, help_text="blank: the trial"
    )
    password = serializers.CharField(help_text="your own password, entered again to lock")


class LocksView(generics.ListAPIView):
    serializer_class = LockOut

    def get_queryset(self):
        return locks_visible_to(self.request.user)

    @extend_schema(
        request=LockIn,
        responses={201: LockOut},
        summary="Lock the trial or an analysis population (statistician, with password)",
    )
    def post(self, request):
        data = LockIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        locked = data_lock(
            trial=trial_named(request.user, fields.get("trial")),
            actor=request.user,
            channel=Channel.API,
            password=fields["password"],
            population=fields["population"],
        )
        return Response(LockOut(locked).data, status=status.HTTP_201_CREATED)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text="why (kept in the audit trail)")


class UnlockRequestView(APIView):
    @extend_schema(
        request=ReasonIn,
        responses=LockOut,
        summary="Ask for an unlock, with a reason (statistician or trial manager)",
    )
    def post(self, request, lock_id: int):
        found = get_object_or_404(locks_visible_to(request.user), pk=lock_id)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = lock_unlock_request(
            lock=found, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(LockOut(done).data)


class UnlockApproveView(APIView):
    @extend_schema(
        request=None,
        responses=LockOut,
        summary="Confirm an unlock: the other of a statistician and the trial manager",
    )
    def post(self, request, lock_id: int):
        found = get_object_or_404(locks_visible_to(request.user), pk=lock_id)
        done = lock_unlock_approve(lock=found, actor=request.user, channel=Channel.API)
        return Response(LockOut(done).data)


class FreezeOut(serializers.ModelSerializer):
    site_code = serializers.CharField(source="site.code")
    family = serializers.CharField(source="family.identifier", allow_null=True)
    form = serializers.CharField(source="response.form", allow_null=True)
    visit = serializers.CharField(source="response.visit", allow_null=True)
    holds = serializers.CharField(source="describe")
    frozen_by = serializers.CharField(source="frozen_by.username")
    released_by = serializers.CharField(source="released_by.username", allow_null=True)
    open = serializers.BooleanField(source="is_open")

    class Meta:
        model = Freeze
        fields = [
            "id",
            "scope",
            "site",
            "site_code",
            "family",
            "response",
            "form",
            "visit",
            "holds",
            "reason",
            "open",
            "frozen_by",
            "frozen_at",
            "released_by",
            "released_at",
            "release_reason",
        ]


class FreezeIn(serializers.Serializer):
    scope = serializers.ChoiceField(choices=Freeze.Scope.choices)
    site = serializers.IntegerField(required=False, help_text="for scope site")
    family = serializers.IntegerField(required=False, help_text="for scope casebook")
    response = serializers.IntegerField(required=False, help_text="for scope response")
    reason = serializers.CharField(allow_blank=True)

    def validate(self, data):
        needed = {"site": "site", "casebook": "family", "response": "response"}[data["scope"]]
        if data.get(needed) is None:
            raise serializers.ValidationError({needed: f"Name the {needed} to freeze."})
        return data


class FreezesView(generics.ListAPIView):
    """Freezes at your sites, newest first; ?open=1 for those still holding data."""

    serializer_class = FreezeOut

    def get_queryset(self):
        found = freezes_visible_to(self.request.user)
        if self.request.query_params.get("open") == "1":
            found = found.filter(released_at__isnull=True)
        return found

    @extend_schema(
        request=FreezeIn,
        responses={201: FreezeOut, **BODY_NAMES_A_RECORD},
        summary="Freeze a form, a casebook or a site, with a reason (trial manager)",
    )
    def post(self, request):
        data = FreezeIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        target = {}
        if fields["scope"] == Freeze.Scope.SITE:
            target["site"] = get_object_or_404(sites_visible_to(request.user), pk=fields["site"])
        elif fields["scope"] == Freeze.Scope.CASEBOOK:
            target["family"] = get_object_or_404(
                families_visible_to(request.user), pk=fields["family"]
            )
        else:
            target["response"] = get_object_or_404(
                responses_visible_to(request.user), pk=fields["response"]
            )
        frozen = data_freeze(
            actor=request.user, channel=Channel.API, reason=fields["reason"], **target
        )
        return Response(FreezeOut(frozen).data, status=status.HTTP_201_CREATED)


class FreezeReleaseView(APIView):
    @extend_schema(
        request=ReasonIn, responses=FreezeOut, summary="Unfreeze, with a reason (trial manager)"
    )
    def post(self, request, freeze_id: int):
        found = get_object_or_404(freezes_visible_to(request.user), pk=freeze_id)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = freeze_release(
            freeze=found, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(FreezeOut(done).data)


class PlanOut(serializers.ModelSerializer):
    trial = serializers.CharField(source="trial.code")
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = AnalysisPlan
        fields = [
            "id",
            "trial",
            "title",
            "version",
            "sha256",
            "final",
            "recorded_by",
            "recorded_at",
        ]


class PlanIn(serializers.Serializer):
    trial = serializers.CharField(required=False, max_length=6)
    title = serializers.CharField(max_length=200)
    version = serializers.CharField(max_length=20)
    sha256 = serializers.CharField(max_length=64, help_text="of the plan's document file")
    final = serializers.BooleanField()


class AnalysisPlansView(generics.ListAPIView):
    """The statistical analysis plan's recorded versions (trial manager, statisticians)."""

    serializer_class = PlanOut

    def get_queryset(self):
        return plans_visible_to(self.request.user)

    def list(self, request, *args, **kwargs):
        trial = trial_named(request.user, request.query_params.get("trial"))
        if not may_read_readiness(request.user, trial):
            raise NotPermitted("Only the trial manager or a statistician reads the plans.")
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=PlanIn,
        responses={201: PlanOut},
        summary="Record a version of the statistical analysis plan (statistician)",
    )
    def post(self, request):
        data = PlanIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        plan = analysis_plan_record(
            trial=trial_named(request.user, fields.pop("trial", None)),
            actor=request.user,
            channel=Channel.API,
            **fields,
        )
        return Response(PlanOut(plan).data, status=status.HTTP_201_CREATED)

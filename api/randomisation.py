from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from core.roles import Role
from randomisation.algorithms import check_design
from randomisation.design import design_for
from randomisation.export import list_csv_response
from randomisation.models import Allocation, Mode, RandomisationList
from randomisation.selectors import allocations_visible_to, lists_visible_to
from randomisation.services import (
    factor_correct,
    family_randomise,
    randomisation_go_live,
    sequence_generate,
    sequence_seal,
)
from randomisation.simulation import simulate
from sites.selectors import open_memberships, sites_visible_to
from trial.models import Family
from trial.selectors import families_visible_to, trial_named

from .openapi import BODY_NAMES_A_RECORD


class AllocationOut(serializers.ModelSerializer):
    """An allocation. `arm` is null for anyone who may not know it (blinded roles)."""

    family_identifier = serializers.CharField(source="family.identifier")
    stratum = serializers.CharField(
        source="stratum.key", allow_null=True, help_text="null when allocated by minimisation"
    )
    randomised_by = serializers.CharField(source="randomised_by.username")
    arm = serializers.CharField(
        source="shown_arm", allow_null=True, help_text="null for anyone who may not know it"
    )

    class Meta:
        model = Allocation
        fields = [
            "id",
            "family",
            "family_identifier",
            "mode",
            "stratum",
            "factor_values",
            "randomised_by",
            "randomised_at",
            "arm",
        ]


class RandomiseView(APIView):
    @extend_schema(
        request=None,
        responses=AllocationOut,
        summary="Randomise a family (idempotent: the same allocation again)",
    )
    def post(self, request, family_id: int):
        try:  # the family read through the caller's sites with its lock, not before it
            allocation = family_randomise(
                family=Family(pk=family_id),
                within=families_visible_to(request.user),
                actor=request.user,
                channel=Channel.API,
            )
        except Family.DoesNotExist:
            raise Http404 from None
        shaped = allocations_visible_to(request.user).get(pk=allocation.pk)
        return Response(AllocationOut(shaped).data)


class AllocationListView(generics.ListAPIView):
    serializer_class = AllocationOut

    def get_queryset(self):
        return allocations_visible_to(self.request.user)


class ListOut(serializers.ModelSerializer):
    strata = serializers.IntegerField(source="strata_count")
    slots_used = serializers.SerializerMethodField(
        help_text="allocations made from it (for minimisation, by its seed)"
    )

    def get_slots_used(self, rlist) -> int:
        return rlist.used if rlist.method == "minimisation" else rlist.slots_used

    class Meta:
        model = RandomisationList
        fields = [
            "id",
            "mode",
            "site",
            "method",
            "algorithm_version",
            "block_sizes",
            "parameters",
            "seed_sha256",
            "list_sha256",
            "generated_at",
            "sealed_at",
            "strata",
            "slots_used",
        ]


class ListGenerateIn(serializers.Serializer):
    trial = serializers.CharField(required=False)
    mode = serializers.ChoiceField(choices=Mode.choices)
    length = serializers.IntegerField(
        min_value=1,
        max_value=10_000,
        required=False,
        help_text="slots per stratum (permuted blocks; minimisation needs none)",
    )
    site = serializers.IntegerField(
        required=False, allow_null=True, help_text="only this site's strata (at its activation)"
    )


class ListsView(generics.ListAPIView):
    serializer_class = ListOut

    def get_queryset(self):
        return lists_visible_to(self.request.user)

    @extend_schema(
        request=ListGenerateIn,
        responses={201: ListOut, **BODY_NAMES_A_RECORD},
        summary="Generate allocation lists (unblinded statistician)",
    )
    def post(self, request):
        data = ListGenerateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trial = trial_named(request.user, fields.pop("trial", None))
        site_id = fields.pop("site", None)
        site = (  # one of this trial's sites: another trial's would key strata it never uses
            get_object_or_404(sites_visible_to(request.user).filter(trial=trial), pk=site_id)
            if site_id
            else None
        )
        rlist = sequence_generate(
            trial=trial, actor=request.user, channel=Channel.API, site=site, **fields
        )
        shown = lists_visible_to(request.user).get(pk=rlist.pk)  # with its counts
        return Response(ListOut(shown).data, status=status.HTTP_201_CREATED)


class ListSealView(APIView):
    @extend_schema(request=None, responses=ListOut, summary="Seal a list (unblinded statistician)")
    def post(self, request, list_id: int):
        rlist = get_object_or_404(lists_visible_to(request.user), pk=list_id)
        sequence_seal(rlist=rlist, actor=request.user, channel=Channel.API)
        return Response(ListOut(lists_visible_to(request.user).get(pk=rlist.pk)).data)


class ListExportView(APIView):
    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Export a list with its allocations (unblinded statistician; recorded)",
    )
    def get(self, request, list_id: int):
        rlist = get_object_or_404(lists_visible_to(request.user), pk=list_id)
        return list_csv_response(rlist=rlist, actor=request.user, channel=Channel.API)


class GoLiveIn(serializers.Serializer):
    trial = serializers.CharField(required=False)


class GoLiveView(APIView):
    @extend_schema(
        request=GoLiveIn,
        responses={204: None},
        summary="Leave test mode for good (unblinded statistician)",
    )
    def post(self, request):
        data = GoLiveIn(data=request.data)
        data.is_valid(raise_exception=True)
        trial = trial_named(request.user, data.validated_data.get("trial"))
        randomisation_go_live(trial=trial, actor=request.user, channel=Channel.API)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportIn(serializers.Serializer):
    method = serializers.ChoiceField(choices=["blocks", "minimisation"], required=False)
    block_sizes = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    strata = serializers.IntegerField(min_value=1, max_value=500, required=False)
    p = serializers.FloatField(min_value=0.5, max_value=1, required=False)
    # Bounded so that one report stays a request (about 10 s at the most on 2 cores); the
    # command has no such bound.
    families = serializers.IntegerField(min_value=1, max_value=1000, default=150)
    runs = serializers.IntegerField(min_value=1, max_value=500, default=200)
    seed = serializers.IntegerField(min_value=0, default=20261126)


class DesignReportView(APIView):
    @extend_schema(
        request=ReportIn,
        responses={200: OpenApiTypes.OBJECT},
        summary="Simulate a design: the report statisticians choose it by",
    )
    def post(self, request):
        roles = set(open_memberships(request.user).values_list("role", flat=True))
        if not roles & {Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}:
            raise PermissionDenied("Only statisticians run the design report.")
        data = ReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        trial = trial_named(request.user, None)
        try:
            design = design_for(
                trial,
                method=d.get("method"),
                block_sizes=d.get("block_sizes"),
                strata=d.get("strata"),
                p=d.get("p"),
            )
            check_design(design.arms, design.ratio, design.block_sizes)
        except ValueError as exc:
            raise serializers.ValidationError({"block_sizes": str(exc)}) from exc
        return Response(simulate(design, families=d["families"], runs=d["runs"], seed=d["seed"]))


class FactorCorrectionIn(serializers.Serializer):
    factor = serializers.CharField(max_length=40)
    correct_value = serializers.CharField(max_length=60)
    reason = serializers.CharField(max_length=2000, allow_blank=True)
    severity = serializers.ChoiceField(choices=["minor", "major"])


class FactorCorrectionOut(serializers.Serializer):
    id = serializers.IntegerField()
    factor = serializers.CharField()
    used_value = serializers.CharField()
    correct_value = serializers.CharField()
    reason = serializers.CharField()
    deviation = serializers.IntegerField(source="deviation_id")


class FactorCorrectionView(APIView):
    @extend_schema(
        request=FactorCorrectionIn,
        responses={201: FactorCorrectionOut},
        summary="Record that a factor was wrong at randomisation (the allocation "
        "stands; a protocol deviation is recorded)",
    )
    def post(self, request, allocation_id: int):
        allocation = get_object_or_404(allocations_visible_to(request.user), pk=allocation_id)
        data = FactorCorrectionIn(data=request.data)
        data.is_valid(raise_exception=True)
        correction = factor_correct(
            allocation=allocation, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(FactorCorrectionOut(correction).data, status=status.HTTP_201_CREATED)

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.channels import Channel
from randomisation.concealment import families_shown_to
from trial.collection import collection_status, collection_statuses
from trial.consents import ConsentIn, consent_correct, consent_record
from trial.enrolment import ContactIn, PersonIn, family_enrol, identity_view, withdrawal_record
from trial.models import ConsentRecord, ConsentVersion, Family, Withdrawal
from trial.selectors import families_visible_to, screenings_visible_to

from .fields import SiteStaffField, identifier_param, identifier_parameter
from .openapi import BODY_NAMES_A_RECORD


class FamilyAllocationOut(serializers.Serializer):
    mode = serializers.CharField()
    randomised_at = serializers.DateTimeField()
    arm = serializers.CharField(allow_null=True, help_text="null where it is concealed from you")


class FamilyListOut(serializers.ListSerializer):
    """Families in a list: what may be collected from each is worked out for all at once."""

    def to_representation(self, data):
        families = list(data.all() if hasattr(data, "all") else data)
        self._context["collection"] = collection_statuses(families)
        return super().to_representation(families)


class FamilyOut(serializers.ModelSerializer):
    """A family by trial identifier. No identifying data, for any role: that is only at
    /identity/, for the coordinators of the family's site."""

    site_code = serializers.CharField(source="site.code")
    screening = serializers.CharField(source="screening.identifier")
    parents = serializers.SerializerMethodField()
    collection = serializers.SerializerMethodField()
    allocation = serializers.SerializerMethodField()

    class Meta:
        model = Family
        list_serializer_class = FamilyListOut
        fields = [
            "id",
            "identifier",
            "site",
            "site_code",
            "screening",
            "legal_status",
            "enrolled_on",
            "parents",
            "collection",
            "allocation",
        ]

    def get_parents(self, family) -> int:
        return sum(1 for p in family.participants.all() if p.role == "parent")

    @extend_schema_field(FamilyAllocationOut(allow_null=True))
    def get_allocation(self, family) -> dict | None:
        """The allocation in the trial's current mode, as the selector shaped it for the
        viewer: its arm only for those who may know it."""
        if family.allocation_id is None:
            return None
        return {
            "mode": family.allocation_mode,
            "randomised_at": family.randomised_at,
            "arm": family.shown_arm,
        }

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_collection(self, family) -> dict:
        state = self.context.get("collection", {}).get(family.pk) or collection_status(family)
        return {
            "allowed": state.allowed,
            "reasons": state.reasons,
            "reconsent_due": state.reconsent_version or None,
            "withdrawn_completely": state.withdrawn_completely,
        }


class ChildIn(serializers.Serializer):
    given_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    family_name = serializers.CharField(max_length=100)
    nhs_number = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")


class ParentIn(ChildIn):
    given_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField()
    relationship = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    parental_responsibility = serializers.BooleanField()


class FamilyContactIn(serializers.Serializer):
    address = serializers.CharField(max_length=500)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    social_worker_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    social_worker_contact = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class ConsentGivenIn(serializers.Serializer):
    version = serializers.PrimaryKeyRelatedField(queryset=ConsentVersion.objects.all())
    consent_date = serializers.DateField()
    taken_by = SiteStaffField()
    method = serializers.ChoiceField(choices=ConsentRecord.Method.choices)
    interpreter_used = serializers.BooleanField(required=False, default=False)
    interpreter_language = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=60
    )
    answers = serializers.DictField(child=serializers.BooleanField())


class EnrolConsentIn(ConsentGivenIn):
    parent = serializers.IntegerField(min_value=1, max_value=2, help_text="parent 1 or 2")


class ScreeningRef(serializers.Serializer):
    screening = serializers.IntegerField()


class EnrolIn(serializers.Serializer):
    screening = serializers.IntegerField(help_text="id of an eligible screening log entry")
    legal_status = serializers.CharField(max_length=40)
    child = ChildIn()
    parents = ParentIn(many=True)
    contact = FamilyContactIn()
    consents = EnrolConsentIn(many=True)


def consent_in(data: dict) -> ConsentIn:
    return ConsentIn(**{k: v for k, v in data.items() if k != "parent"})


def visible_families(user):
    """The families the user can see, each with its allocation shaped for them."""
    return (
        families_shown_to(user, families_visible_to(user))
        .select_related("screening")
        .prefetch_related("participants", "consents", "withdrawals")
    )


class FamilyListView(generics.ListAPIView):
    serializer_class = FamilyOut

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "viewer": self.request.user}

    def get_queryset(self):
        families = visible_families(self.request.user)
        site = self.request.query_params.get("site")
        if site and site.isdigit():
            families = families.filter(site_id=site)
        if identifier := identifier_param(self.request, "identifier"):
            families = families.filter(identifier=identifier)
        return families

    @extend_schema(
        parameters=[
            OpenApiParameter("site", int, description="One site's families, by the site's id"),
            identifier_parameter("identifier", description="The family with this identifier"),
        ],
        summary="The families you can see",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=EnrolIn,
        responses={201: FamilyOut, **BODY_NAMES_A_RECORD},
        summary="Enrol an eligible referral as a family, with its first consents",
    )
    def post(self, request):
        # The referral first: one outside the caller's sites is not found, whatever the body.
        which = ScreeningRef(data=request.data)
        which.is_valid(raise_exception=True)
        screening = get_object_or_404(
            screenings_visible_to(request.user), pk=which.validated_data["screening"]
        )
        data = EnrolIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        family = family_enrol(
            screening=screening,
            actor=request.user,
            channel=Channel.API,
            legal_status=fields["legal_status"],
            child=PersonIn(**fields["child"]),
            parents=[PersonIn(**p) for p in fields["parents"]],
            contact=ContactIn(**fields["contact"]),
            consents=[(c["parent"], consent_in(c)) for c in fields["consents"]],
        )
        return Response(
            FamilyOut(
                visible_families(request.user).get(pk=family.pk), context={"viewer": request.user}
            ).data,
            status=status.HTTP_201_CREATED,
        )


class FamilyDetailView(APIView):
    @extend_schema(responses=FamilyOut, summary="One family, by id")
    def get(self, request, family_id: int):
        family = get_object_or_404(visible_families(request.user), pk=family_id)
        return Response(FamilyOut(family, context={"viewer": request.user}).data)


class IdentityOut(serializers.Serializer):
    people = serializers.ListField(child=serializers.DictField())
    address = serializers.CharField()
    phone = serializers.CharField()
    social_worker_name = serializers.CharField()
    social_worker_contact = serializers.CharField()


class FamilyIdentityView(APIView):
    @extend_schema(
        responses=IdentityOut,
        summary="Identifying data: coordinators of the family's site only; recorded",
    )
    def get(self, request, family_id: int):
        family = get_object_or_404(visible_families(request.user), pk=family_id)
        return Response(
            IdentityOut(identity_view(family=family, actor=request.user, channel=Channel.API)).data
        )


class ConsentOut(serializers.ModelSerializer):
    parent = serializers.IntegerField(source="participant.number")
    version_label = serializers.CharField(source="version.version")
    taken_by = serializers.CharField(source="taken_by.username")

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "parent",
            "version",
            "version_label",
            "consent_date",
            "taken_by",
            "method",
            "interpreter_used",
            "interpreter_language",
            "answers",
            "recorded_at",
        ]


class ConsentRecordIn(ConsentGivenIn):
    parent = serializers.IntegerField(min_value=1, max_value=2)


class ConsentCorrectIn(serializers.Serializer):
    consent_date = serializers.DateField(required=False)
    taken_by = SiteStaffField(required=False)
    method = serializers.ChoiceField(choices=ConsentRecord.Method.choices, required=False)
    interpreter_used = serializers.BooleanField(required=False)
    interpreter_language = serializers.CharField(required=False, allow_blank=True, max_length=60)
    answers = serializers.DictField(child=serializers.BooleanField(), required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class FamilyConsentsView(APIView):
    @extend_schema(responses=ConsentOut(many=True), summary="A family's consent history")
    def get(self, request, family_id: int):
        family = get_object_or_404(visible_families(request.user), pk=family_id)
        consents = family.consents.select_related("participant", "version", "taken_by")
        return Response(ConsentOut(consents, many=True).data)

    @extend_schema(
        request=ConsentRecordIn,
        responses={201: ConsentOut},
        summary="Record a parent's consent (second parent, or re-consent)",
    )
    def post(self, request, family_id: int):
        family = get_object_or_404(visible_families(request.user), pk=family_id)
        data = ConsentRecordIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        parent = family.participants.filter(
            role="parent", number=data.validated_data["parent"]
        ).first()
        if parent is None:
            raise serializers.ValidationError({"parent": "This family has no such parent."})
        consent = consent_record(
            family=family,
            parent=parent,
            actor=request.user,
            channel=Channel.API,
            given=consent_in(data.validated_data),
        )
        return Response(ConsentOut(consent).data, status=status.HTTP_201_CREATED)


class ConsentCorrectView(APIView):
    @extend_schema(
        request=ConsentCorrectIn,
        responses=ConsentOut,
        summary="Correct a consent as entered (a reason is required)",
    )
    def post(self, request, family_id: int, consent_id: int):
        family = get_object_or_404(visible_families(request.user), pk=family_id)
        consent = get_object_or_404(family.consents.all(), pk=consent_id)
        data = ConsentCorrectIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        reason = changes.pop("reason", "")
        consent = consent_correct(
            consent=consent, actor=request.user, channel=Channel.API, reason=reason, **changes
        )
        return Response(ConsentOut(consent).data)


class WithdrawalOut(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = Withdrawal
        fields = ["id", "level", "withdrawal_date", "reason", "recorded_by", "recorded_at"]


class WithdrawalIn(serializers.Serializer):
    level = serializers.CharField(max_length=40)
    withdrawal_date = serializers.DateField()
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class FamilyWithdrawalsView(APIView):
    @extend_schema(responses=WithdrawalOut(many=True), summary="A family's withdrawals")
    def get(self, request, family_id: int):
        family = get_object_or_404(visible_families(request.user), pk=family_id)
        return Response(
            WithdrawalOut(family.withdrawals.select_related("recorded_by"), many=True).data
        )

    @extend_schema(
        request=WithdrawalIn,
        responses={201: WithdrawalOut},
        summary="Record a withdrawal at one of the trial's levels",
    )
    def post(self, request, family_id: int):
        family = get_object_or_404(visible_families(request.user), pk=family_id)
        data = WithdrawalIn(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = withdrawal_record(
            family=family, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Response(WithdrawalOut(withdrawal).data, status=status.HTTP_201_CREATED)

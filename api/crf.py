"""Form definitions, responses, queries and casebook signatures. The same services and
scoping as the pages: another site's family, or a form that would unblind a blinded
reader, is not found."""

import yaml
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response as Reply
from rest_framework.views import APIView

from core.channels import Channel
from crf.entry import form_not_done, response_submit, response_update, response_verify
from crf.models import FormDefinition, NotDone, Query, Response, Signature
from crf.queries import query_answer, query_raise
from crf.selectors import (
    definitions_visible_to,
    hides_arm_forms,
    queries_visible_to,
    randomised_on,
    responses_visible_to,
    schedule_of,
    signatures_of,
)
from crf.signatures import MEANINGS, casebook_sign, signature_intact
from trial.models import Family
from trial.selectors import families_visible_to

from .fields import identifier_param, identifier_parameter
from .openapi import BODY_NAMES_A_RECORD


class FormDefinitionOut(serializers.ModelSerializer):
    spec = serializers.SerializerMethodField()

    class Meta:
        model = FormDefinition
        fields = [
            "id",
            "form",
            "version",
            "title",
            "file_name",
            "sha256",
            "reveals_arm",
            "repeatable",
            "loaded_at",
            "spec",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_spec(self, definition) -> dict:
        """The spec as loaded (fields, conditions, checks, scoring, alerts), as JSON."""
        return yaml.safe_load(definition.source_text)


class FormListView(generics.ListAPIView):
    """Every loaded form version. A form's newest version is the one new entries use."""

    serializer_class = FormDefinitionOut
    pagination_class = None

    def get_queryset(self):
        return definitions_visible_to(self.request.user).order_by("form", "version")


class FormDetailView(generics.RetrieveAPIView):
    serializer_class = FormDefinitionOut
    lookup_url_kwarg = "form_id"

    def get_queryset(self):
        return definitions_visible_to(self.request.user)


class ResponseOut(serializers.ModelSerializer):
    version = serializers.IntegerField(source="definition.version")
    entered_by = serializers.CharField(source="entered_by.username")
    updated_by = serializers.CharField(source="updated_by.username")
    verified_by = serializers.CharField(source="verified_by.username", allow_null=True)
    in_window = serializers.SerializerMethodField()
    open_queries = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = [
            "id",
            "form",
            "version",
            "visit",
            "number",
            "status",
            "values",
            "missing",
            "scores",
            "alerts",
            "dated_on",
            "in_window",
            "revision",
            "entered_by",
            "entered_at",
            "updated_by",
            "updated_at",
            "verified_by",
            "verified_at",
            "open_queries",
        ]

    def get_in_window(self, response) -> bool | None:
        """False when the visit date is outside its window (accepted, and flagged)."""
        visit = schedule_of(response.family.trial).visit(response.visit)
        if visit is None or response.dated_on is None:
            return None
        return visit.in_window(response.dated_on, randomised_on(response.family))

    def get_open_queries(self, response) -> int:
        if "open_queries" in self.context:  # known to the caller, as for a response just entered
            return self.context["open_queries"]
        return sum(1 for q in response.queries.all() if q.status == "open")


class ResponseIn(serializers.Serializer):
    form = serializers.CharField(max_length=40)
    visit = serializers.CharField(max_length=40, allow_blank=True, help_text="blank: any-time form")
    values = serializers.DictField(
        help_text='field (grid items as "item_3") to value, or {"missing": code}'
    )
    complete = serializers.BooleanField(default=True, help_text="false saves a draft")


class ResponseChangeIn(serializers.Serializer):
    values = serializers.DictField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    complete = serializers.BooleanField(default=True)
    revision = serializers.IntegerField(
        required=False, help_text="the revision you changed; refused if it has moved on"
    )
    replace = serializers.BooleanField(
        default=False, help_text="true: values is the whole form; false: only these fields"
    )


def _family(request, family_id: int):
    return get_object_or_404(families_visible_to(request.user), pk=family_id)


def _responses(request, family):
    return (
        responses_visible_to(request.user)
        .filter(family=family)
        .select_related("entered_by", "updated_by", "verified_by", "family__trial")
        .prefetch_related("queries", "family__allocations")
    )


class ResponseFilterIn(serializers.Serializer):
    form = serializers.CharField(required=False, max_length=40, help_text="a form key, e.g. core10")
    visit = serializers.CharField(
        required=False, max_length=40, help_text="a visit key, e.g. month_6"
    )


class FamilyResponsesView(APIView):
    @extend_schema(
        parameters=[ResponseFilterIn],
        responses=ResponseOut(many=True),
        summary="A family's entered forms; ?form= and ?visit= narrow them",
    )
    def get(self, request, family_id: int):
        family = _family(request, family_id)
        wanted = ResponseFilterIn(data=request.query_params)
        wanted.is_valid(raise_exception=True)
        found = _responses(request, family)
        form, visit = wanted.validated_data.get("form"), wanted.validated_data.get("visit")
        if form:
            if not FormDefinition.objects.filter(trial=family.trial, form=form).exists():
                raise serializers.ValidationError({"form": [f"No form '{form}' in this trial."]})
            found = found.filter(form=form)
        if visit:
            if schedule_of(family.trial).visit(visit) is None:
                raise serializers.ValidationError({"visit": [f"No visit '{visit}' in this trial."]})
            found = found.filter(visit=visit)
        return Reply(ResponseOut(found, many=True).data)

    @extend_schema(
        request=ResponseIn,
        responses={201: ResponseOut},
        summary="Enter a form at a visit (complete, or a draft)",
    )
    def post(self, request, family_id: int):
        data = ResponseIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:  # the family read through the caller's sites with its lock, not before it
            saved = response_submit(
                family=Family(pk=family_id),
                within=families_visible_to(request.user),
                form=data.validated_data["form"],
                visit=data.validated_data["visit"],
                values=data.validated_data["values"],
                complete=data.validated_data["complete"],
                actor=request.user,
                channel=Channel.API,
            )
        except Family.DoesNotExist:
            raise Http404 from None
        # The caller just entered it, so may see it: no second scoped read. A response just
        # entered has no query but the one its window may have raised with it.
        shown = ResponseOut(saved.response, context={"open_queries": int(saved.out_of_window)})
        return Reply(shown.data, status=status.HTTP_201_CREATED)


class FamilyResponseView(APIView):
    @extend_schema(responses=ResponseOut, summary="One entered form")
    def get(self, request, family_id: int, response_id: int):
        family = _family(request, family_id)
        return Reply(
            ResponseOut(get_object_or_404(_responses(request, family), pk=response_id)).data
        )

    @extend_schema(
        request=ResponseChangeIn,
        responses=ResponseOut,
        summary="Change a form (a completed form needs a reason, and loses its verification)",
    )
    def patch(self, request, family_id: int, response_id: int):
        family = _family(request, family_id)
        response = get_object_or_404(_responses(request, family), pk=response_id)
        data = ResponseChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        response_update(
            response=response,
            values=data.validated_data["values"],
            reason=data.validated_data["reason"],
            complete=data.validated_data["complete"],
            revision=data.validated_data.get("revision"),
            replace=data.validated_data["replace"],
            actor=request.user,
            channel=Channel.API,
        )
        return Reply(ResponseOut(_responses(request, family).get(pk=response.pk)).data)


class ResponseVerifyView(APIView):
    @extend_schema(request=None, responses=ResponseOut, summary="Source-data verify a form")
    def post(self, request, family_id: int, response_id: int):
        family = _family(request, family_id)
        response = get_object_or_404(_responses(request, family), pk=response_id)
        response_verify(response=response, actor=request.user, channel=Channel.API)
        return Reply(ResponseOut(_responses(request, family).get(pk=response.pk)).data)


class MessageOut(serializers.Serializer):
    kind = serializers.CharField()
    text = serializers.CharField()
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    at = serializers.DateTimeField()


class QueryOut(serializers.ModelSerializer):
    family = serializers.CharField(source="family.identifier")
    site = serializers.CharField(source="site.code")
    form = serializers.CharField(source="response.form")
    visit = serializers.CharField(source="response.visit")
    raised_by = serializers.CharField(source="raised_by.username", allow_null=True)
    messages = MessageOut(many=True)

    class Meta:
        model = Query
        fields = [
            "id",
            "response",
            "family",
            "site",
            "form",
            "visit",
            "field",
            "text",
            "status",
            "automatic",
            "raised_by",
            "raised_at",
            "closed_at",
            "messages",
        ]


class QueryIn(serializers.Serializer):
    response = serializers.IntegerField()
    field = serializers.CharField(max_length=80)
    text = serializers.CharField()


class QueryAnswerIn(serializers.Serializer):
    text = serializers.CharField()
    correction = serializers.DictField(required=False, help_text="fields to change")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class QueryStepIn(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")


def _queries(request):
    return (
        queries_visible_to(request.user)
        .select_related("raised_by")
        .prefetch_related("messages__author")
    )


class QueryListView(generics.ListCreateAPIView):
    """Queries at the sites you can see; ?status=open|answered|closed, ?family=ID."""

    serializer_class = QueryOut

    def get_queryset(self):
        found = _queries(self.request).order_by("-raised_at", "-id")
        state = self.request.query_params.get("status")
        if state:
            found = found.filter(status=state)
        family = self.request.query_params.get("family", "").strip()
        if family.isdigit():
            found = found.filter(family_id=int(family))
        elif family:
            found = found.filter(family__identifier=identifier_param(self.request, "family"))
        return found

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="open, answered or closed"),
            identifier_parameter(
                "family", description="One family's queries, by its id or its trial identifier"
            ),
        ],
        summary="Queries at the sites you can see, newest first",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=QueryIn,
        responses={201: QueryOut, **BODY_NAMES_A_RECORD},
        summary="Raise a query on a field",
    )
    def post(self, request):
        data = QueryIn(data=request.data)
        data.is_valid(raise_exception=True)
        response = get_object_or_404(
            responses_visible_to(request.user), pk=data.validated_data["response"]
        )
        query = query_raise(
            response=response,
            field=data.validated_data["field"],
            text=data.validated_data["text"],
            actor=request.user,
            channel=Channel.API,
        )
        return Reply(QueryOut(_queries(request).get(pk=query.pk)).data, status=201)


class QueryDetailView(generics.RetrieveAPIView):
    serializer_class = QueryOut
    lookup_url_kwarg = "query_id"

    def get_queryset(self):
        return _queries(self.request)


class QueryAnswerView(APIView):
    @extend_schema(
        request=QueryAnswerIn,
        responses=QueryOut,
        summary="Answer a query, or correct the form (the reason defaults to the answer)",
    )
    def post(self, request, query_id: int):
        query = get_object_or_404(_queries(request), pk=query_id)
        data = QueryAnswerIn(data=request.data)
        data.is_valid(raise_exception=True)
        query_answer(
            query=query,
            text=data.validated_data["text"],
            correction=data.validated_data.get("correction"),
            reason=data.validated_data["reason"],
            actor=request.user,
            channel=Channel.API,
        )
        return Reply(QueryOut(_queries(request).get(pk=query.pk)).data)


class QueryStepView(APIView):
    """A monitor's step on a query: close it, or re-open it (with a note). Each route names
    its step: `QueryStepView.as_view(step=query_close)`."""

    step = None

    @extend_schema(
        request=QueryStepIn, responses=QueryOut, summary="Close or re-open a query (by path)"
    )
    def post(self, request, query_id: int):
        query = get_object_or_404(_queries(request), pk=query_id)
        data = QueryStepIn(data=request.data)
        data.is_valid(raise_exception=True)
        self.step(
            query=query, text=data.validated_data["text"], actor=request.user, channel=Channel.API
        )
        return Reply(QueryOut(_queries(request).get(pk=query.pk)).data)


class SignatureOut(serializers.ModelSerializer):
    signer = serializers.CharField(source="signer.username")
    valid = serializers.SerializerMethodField()
    forms = serializers.SerializerMethodField()

    class Meta:
        model = Signature
        fields = [
            "id",
            "signer",
            "signer_name",
            "meaning",
            "signed_at",
            "content_sha256",
            "forms",
            "valid",
            "invalidated_at",
            "invalidated_reason",
        ]

    def get_valid(self, signature) -> bool:
        """Not invalidated, and the signed content still has the signed hash."""
        intact = getattr(signature, "intact", None)  # as signatures_of read it for a list
        return signature_intact(signature) if intact is None else intact

    def get_forms(self, signature) -> int:
        return len(signature.content)


class SignIn(serializers.Serializer):
    password = serializers.CharField(help_text="your own password, re-entered to sign")
    meaning = serializers.ChoiceField(choices=sorted(MEANINGS))


class FamilySignaturesView(APIView):
    @extend_schema(responses=SignatureOut(many=True), summary="A casebook's signatures")
    def get(self, request, family_id: int):
        family = _family(request, family_id)
        found = signatures_of(
            family, hidden=hides_arm_forms(request.user, family.site), newest_first=False
        )
        return Reply(SignatureOut(found, many=True).data)

    @extend_schema(request=SignIn, responses={201: SignatureOut}, summary="Sign the casebook")
    def post(self, request, family_id: int):
        family = _family(request, family_id)
        data = SignIn(data=request.data)
        data.is_valid(raise_exception=True)
        signature = casebook_sign(
            family=family,
            password=data.validated_data["password"],
            meaning=data.validated_data["meaning"],
            actor=request.user,
            channel=Channel.API,
        )
        return Reply(SignatureOut(signature).data, status=status.HTTP_201_CREATED)


class NotDoneIn(serializers.Serializer):
    visit = serializers.CharField(max_length=40)
    form = serializers.CharField(max_length=40)
    reason = serializers.CharField(allow_blank=True, help_text="why it will not be entered")


class NotDoneOut(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = NotDone
        fields = ["id", "visit", "form", "reason", "recorded_by", "recorded_at"]


class FamilyNotDoneView(APIView):
    @extend_schema(
        request=NotDoneIn,
        responses={201: NotDoneOut},
        summary="Mark a scheduled form not done, with the reason (no longer expected)",
    )
    def post(self, request, family_id: int):
        family = _family(request, family_id)
        data = NotDoneIn(data=request.data)
        data.is_valid(raise_exception=True)
        marked = form_not_done(
            family=family, actor=request.user, channel=Channel.API, **data.validated_data
        )
        return Reply(NotDoneOut(marked).data, status=status.HTTP_201_CREATED)

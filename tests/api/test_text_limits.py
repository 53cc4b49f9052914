"""Every free-text field of every write endpoint, at and beyond its limit: what a serializer
accepts fits the column it is stored in, so no text can reach the database and fail there
(a 500 on PostgreSQL that SQLite would hide). CI runs these on PostgreSQL.

The request bodies come from the OpenAPI schema, so a new text field cannot be missed: each
must be listed below with where it is stored."""

import json

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from audit.models import AuditEvent
from crf.models import NotDone, Query, QueryMessage
from dataset.models import AnalysisPlan
from lock.models import DataLock, Freeze
from randomisation.models import FactorCorrection
from safety.models import EmergencyUnblinding, SafetyEvent, SafetyFollowUp
from sites.models import Site, SiteStatusStep
from trial.models import (
    ConsentRecord,
    ConsentVersion,
    Participant,
    ProtocolDeviation,
    ScreeningRecord,
    Withdrawal,
)

from ..access import another_answer
from ..helpers import counts
from .test_permissions_matrix import ENDPOINTS

User = get_user_model()

# How a field's text is used. FREE: kept as written, so any text up to the limit is
# accepted. KEYED: a code, key or choice the service checks (an unknown one is refused with
# a 400 naming the field). LOOKUP: names a record and is never stored. SECRET: a password,
# stored only as its hash. REASON: kept in the history's reason and the ledger (both text).
FREE, KEYED, LOOKUP, SECRET, REASON = "free", "keyed", "lookup", "secret", "reason"
ENCRYPTED = "encrypted identity (ciphertext in a text column)"


@pytest.fixture
def world(shared_world):
    """Every case of this module starts from the same World, made once (tests/conftest.py)."""
    return shared_world


def col(model, name) -> models.Field:
    return model._meta.get_field(name)


# (request body, property) -> (the matrix row that sends it, how it is used, its column)
TEXT_FIELDS = {
    ("SiteRegisterInRequest", "trial"): ("site register", LOOKUP, None),
    ("SiteRegisterInRequest", "code"): ("site register", KEYED, col(Site, "code")),
    ("SiteRegisterInRequest", "name"): ("site register", FREE, col(Site, "name")),
    ("SiteRegisterInRequest", "nhs_trust"): ("site register", FREE, col(Site, "nhs_trust")),
    ("SiteRegisterInRequest", "local_authority"): (
        "site register",
        FREE,
        col(Site, "local_authority"),
    ),
    ("PatchedSiteUpdateInRequest", "name"): ("BUC site edit", FREE, col(Site, "name")),
    ("PatchedSiteUpdateInRequest", "nhs_trust"): ("BUC site edit", FREE, col(Site, "nhs_trust")),
    ("PatchedSiteUpdateInRequest", "local_authority"): (
        "BUC site edit",
        FREE,
        col(Site, "local_authority"),
    ),
    ("PatchedSiteUpdateInRequest", "reason"): ("BUC site edit", REASON, None),
    ("SiteStatusInRequest", "note"): ("MKN status step", FREE, col(SiteStatusStep, "note")),
    ("MembershipGrantInRequest", "trial"): ("membership grant", LOOKUP, None),
    ("EndInRequest", "reason"): ("BUC membership end", REASON, None),
    ("AccountCreateInRequest", "trial"): ("account create", LOOKUP, None),
    ("AccountCreateInRequest", "username"): ("account create", FREE, col(User, "username")),
    ("AccountCreateInRequest", "first_name"): ("account create", FREE, col(User, "first_name")),
    ("AccountCreateInRequest", "last_name"): ("account create", FREE, col(User, "last_name")),
    ("AccountCreateInRequest", "password"): ("account create", SECRET, None),
    ("AccountActiveInRequest", "trial"): ("account disable", LOOKUP, None),
    ("AccountActiveInRequest", "reason"): ("account disable", REASON, None),
    ("PasswordChangeInRequest", "old_password"): ("own password", KEYED, None),
    ("PasswordChangeInRequest", "new_password"): ("own password", SECRET, None),
    ("TokenRequestInRequest", "username"): (None, LOOKUP, None),
    ("TokenRequestInRequest", "password"): (None, SECRET, None),
    ("TokenRequestInRequest", "otp"): (None, SECRET, None),
    ("SignoffInRequest", "note"): (
        "BUC sign-off",
        FREE,
        col(apps.get_model("audit", "ReviewSignoff"), "note"),
    ),
    ("ScreeningInRequest", "referrer_type"): (
        "BUC screen",
        KEYED,
        col(ScreeningRecord, "referrer_type"),
    ),
    ("ScreeningInRequest", "interpreter_language"): (
        "BUC screen",
        FREE,
        col(ScreeningRecord, "interpreter_language"),
    ),
    ("ScreeningCloseInRequest", "reason"): (
        "BUC close referral",
        KEYED,
        col(ScreeningRecord, "outcome_reason"),
    ),
    ("ScreeningCloseInRequest", "note"): (
        "BUC close referral",
        FREE,
        col(ScreeningRecord, "outcome_note"),
    ),
    ("EnrolInRequest", "legal_status"): (
        "BUC enrol",
        KEYED,
        col(apps.get_model("trial", "Family"), "legal_status"),
    ),
    ("EnrolInRequest", "child.given_name"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "child.family_name"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "child.nhs_number"): ("BUC enrol", KEYED, ENCRYPTED),
    ("EnrolInRequest", "parents.0.given_name"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "parents.0.family_name"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "parents.0.nhs_number"): ("BUC enrol", KEYED, ENCRYPTED),
    ("EnrolInRequest", "parents.0.relationship"): (
        "BUC enrol",
        FREE,
        col(Participant, "relationship"),
    ),
    ("EnrolInRequest", "contact.address"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "contact.phone"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "contact.social_worker_name"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "contact.social_worker_contact"): ("BUC enrol", FREE, ENCRYPTED),
    ("EnrolInRequest", "consents.0.interpreter_language"): (
        "BUC enrol",
        FREE,
        col(ConsentRecord, "interpreter_language"),
    ),
    ("ConsentRecordInRequest", "interpreter_language"): (
        "BUC consent",
        FREE,
        col(ConsentRecord, "interpreter_language"),
    ),
    ("ConsentCorrectInRequest", "interpreter_language"): (
        "BUC consent correct",
        FREE,
        col(ConsentRecord, "interpreter_language"),
    ),
    ("ConsentCorrectInRequest", "reason"): ("BUC consent correct", REASON, None),
    ("WithdrawalInRequest", "level"): ("BUC withdraw", KEYED, col(Withdrawal, "level")),
    ("WithdrawalInRequest", "reason"): ("BUC withdraw", FREE, col(Withdrawal, "reason")),
    ("ConsentVersionInRequest", "trial"): ("consent version create", LOOKUP, None),
    ("ConsentVersionInRequest", "version"): (
        "consent version create",
        FREE,
        col(ConsentVersion, "version"),
    ),
    ("ConsentVersionInRequest", "items.0"): ("consent version create", KEYED, None),
    ("FactorCorrectionInRequest", "factor"): (
        "BUC factor correction",
        KEYED,
        col(FactorCorrection, "factor"),
    ),
    ("FactorCorrectionInRequest", "correct_value"): (
        "BUC factor correction",
        KEYED,
        col(FactorCorrection, "correct_value"),
    ),
    ("FactorCorrectionInRequest", "reason"): (
        "BUC factor correction",
        FREE,
        col(FactorCorrection, "reason"),
    ),
    ("ListGenerateInRequest", "trial"): ("generate lists", LOOKUP, None),
    ("GoLiveInRequest", "trial"): ("go live", LOOKUP, None),
    ("ResponseInRequest", "form"): ("BUC response enter", KEYED, None),
    ("ResponseInRequest", "visit"): ("BUC response enter", KEYED, None),
    ("PatchedResponseChangeInRequest", "reason"): ("BUC response change", REASON, None),
    ("QueryInRequest", "field"): ("query raise", KEYED, col(Query, "field")),
    ("QueryInRequest", "text"): ("query raise", FREE, col(Query, "text")),
    ("QueryAnswerInRequest", "text"): ("query answer", FREE, col(QueryMessage, "text")),
    ("QueryAnswerInRequest", "reason"): ("query answer", REASON, None),
    ("QueryStepInRequest", "text"): ("query close", FREE, col(QueryMessage, "text")),
    ("SignInRequest", "password"): ("BUC sign", KEYED, None),
    ("LockInRequest", "trial"): ("lock", LOOKUP, None),
    ("LockInRequest", "population"): ("lock", KEYED, None),
    ("LockInRequest", "password"): ("lock", KEYED, None),
    ("ReasonInRequest", "reason"): ("unlock request", FREE, col(DataLock, "unlock_reason")),
    ("FreezeInRequest", "reason"): ("freeze", FREE, col(Freeze, "reason")),
    ("ReviewInRequest", "note"): ("deviation review", FREE, col(ProtocolDeviation, "review_note")),
    ("DeviationInRequest", "family"): ("record a BUC deviation", LOOKUP, None),
    ("DeviationInRequest", "person"): ("record a BUC deviation", LOOKUP, None),
    ("DeviationInRequest", "description"): (
        "record a BUC deviation",
        FREE,
        col(ProtocolDeviation, "description"),
    ),
    ("DeviationInRequest", "corrective_action"): (
        "record a BUC deviation",
        FREE,
        col(ProtocolDeviation, "corrective_action"),
    ),
    ("DeviationInRequest", "preventive_action"): (
        "record a BUC deviation",
        FREE,
        col(ProtocolDeviation, "preventive_action"),
    ),
    ("BreachFlagInRequest", "reason"): (
        "flag a BUC deviation as a possible serious breach",
        REASON,
        None,
    ),
    ("NotDoneInRequest", "visit"): ("form not done", KEYED, col(NotDone, "visit")),
    ("NotDoneInRequest", "form"): ("form not done", KEYED, col(NotDone, "form")),
    ("NotDoneInRequest", "reason"): ("form not done", FREE, col(NotDone, "reason")),
    ("ExportInRequest", "trial"): ("ask for an export", LOOKUP, None),
    ("DmcReportInRequest", "trial"): ("ask for the open DMC report", LOOKUP, None),
    ("AccountInviteInRequest", "trial"): ("account invite", LOOKUP, None),
    ("AccountInviteInRequest", "username"): ("account invite", KEYED, col(User, "username")),
    ("AccountInviteInRequest", "first_name"): ("account invite", FREE, col(User, "first_name")),
    ("AccountInviteInRequest", "last_name"): ("account invite", FREE, col(User, "last_name")),
    ("AccountUnlockInRequest", "trial"): ("account unlock", LOOKUP, None),
    ("AccountUnlockInRequest", "reason"): ("account unlock", REASON, None),
    ("PasswordSetInRequest", "uid"): ("password set", LOOKUP, None),
    ("PasswordSetInRequest", "token"): ("password set", LOOKUP, None),
    ("PasswordSetInRequest", "password"): ("password set", SECRET, None),
    ("ExportInRequest", "population"): ("ask for an export", KEYED, None),
    ("PlanInRequest", "trial"): ("analysis plan record", LOOKUP, None),
    ("PlanInRequest", "title"): ("analysis plan record", FREE, col(AnalysisPlan, "title")),
    ("PlanInRequest", "version"): ("analysis plan record", FREE, col(AnalysisPlan, "version")),
    ("PlanInRequest", "sha256"): ("analysis plan record", KEYED, col(AnalysisPlan, "sha256")),
}


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


# The safety API: the review and the ethics committee report are the chief investigator's,
# who is not an account of the permission matrix (no row: their columns are still checked).
TEXT_FIELDS |= {
    ("SaeReportInRequest", "aware_time"): ("report a BUC safety event", KEYED, None),
    ("SaeReportInRequest", "referral_to"): (
        "report a BUC safety event",
        FREE,
        col(SafetyEvent, "referral_to"),
    ),
    ("SaeReportInRequest", "late_reason"): (
        "report a BUC safety event",
        FREE,
        col(SafetyEvent, "late_reason"),
    ),
    ("SaeAssessInRequest", "seriousness.0"): ("assess a BUC safety event", KEYED, None),
    ("SaeAssessInRequest", "relatedness"): ("assess a BUC safety event", KEYED, None),
    ("SaeAssessInRequest", "expectedness"): ("assess a BUC safety event", KEYED, None),
    ("SaeAssessInRequest", "password"): ("assess a BUC safety event", KEYED, None),
    ("SaeReviewInRequest", "relatedness"): (None, KEYED, col(SafetyEvent, "ci_relatedness")),
    ("SaeReviewInRequest", "expectedness"): (None, KEYED, col(SafetyEvent, "ci_expectedness")),
    ("SaeReviewInRequest", "note"): (None, FREE, col(SafetyEvent, "review_note")),
    ("SaeFollowUpInRequest", "outcome"): (
        "follow up a BUC safety event",
        KEYED,
        col(SafetyFollowUp, "outcome"),
    ),
    ("SaeFollowUpInRequest", "note"): (
        "follow up a BUC safety event",
        FREE,
        col(SafetyFollowUp, "note"),
    ),
    ("SaeRecReportInRequest", "reference"): (None, FREE, col(SafetyEvent, "rec_reference")),
    ("UnblindingRequestInRequest", "family"): ("ask for a BUC family's arm", LOOKUP, None),
    ("UnblindingRequestInRequest", "reason"): (
        "ask for a BUC family's arm",
        FREE,
        col(EmergencyUnblinding, "reason"),
    ),
    ("UnblindingDecideInRequest", "note"): (
        "decide an emergency unblinding",
        FREE,
        col(EmergencyUnblinding, "decision_note"),
    ),
}


def _text_properties(schema: dict) -> dict[tuple[str, str], int | None]:
    """(request body, property path) -> maxLength, for every plain string a write accepts."""
    parts = schema["components"]["schemas"]
    found: dict[tuple[str, str], int | None] = {}

    def resolve(node):
        ref = node.get("$ref")
        return (parts[ref.rsplit("/", 1)[1]], ref.rsplit("/", 1)[1]) if ref else (node, None)

    def walk(body: str, node: dict, prefix: str) -> None:
        node, _ = resolve(node)
        if node.get("type") == "string" and "enum" not in node and "format" not in node:
            found[(body, prefix)] = node.get("maxLength")
        elif node.get("type") == "array":
            walk(body, node.get("items", {}), f"{prefix}.0")
        for name, prop in node.get("properties", {}).items():
            walk(body, prop, f"{prefix}.{name}" if prefix else name)

    for operations in schema["paths"].values():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in ("post", "put", "patch") and "application/json" in content:
                node, body = resolve(content["application/json"]["schema"])
                walk(body, node, "")
    return found


TEXT_PROPERTIES = _text_properties(_schema())


def test_every_text_field_of_every_write_is_listed_with_where_it_is_stored():
    assert sorted(set(TEXT_PROPERTIES) - set(TEXT_FIELDS)) == []
    assert sorted(set(TEXT_FIELDS) - set(TEXT_PROPERTIES)) == []


@pytest.mark.parametrize("key", sorted(TEXT_FIELDS), ids=[".".join(k) for k in sorted(TEXT_FIELDS)])
def test_what_a_serializer_accepts_fits_its_column(key):
    _row, use, column = TEXT_FIELDS[key]
    limit = TEXT_PROPERTIES[key]
    if isinstance(column, models.Field) and column.max_length is not None:
        assert limit is not None and limit <= column.max_length, (
            f"{key} accepts {limit} characters; {column.model.__name__}.{column.name} "
            f"holds {column.max_length}"
        )
    if (use in (FREE, REASON, SECRET) and column is None) or column == ENCRYPTED:
        return
    if isinstance(column, models.Field) and column.max_length is None:
        assert isinstance(column, models.TextField)


def test_reasons_are_kept_as_text_in_every_history_and_the_ledger():
    short = [
        model._meta.label
        for model in apps.get_models()
        if model.__name__.startswith("Historical")
        and not isinstance(model._meta.get_field("history_change_reason"), models.TextField)
    ]
    assert short == []
    assert isinstance(AuditEvent._meta.get_field("reason"), models.TextField)


def _set(body: dict, path: str, value: str) -> dict:
    body = json.loads(json.dumps(body))
    node, *keys, last = [body, *path.split(".")]
    for key in keys:
        node = node[int(key)] if key.isdigit() else node[key]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return body


def _edges():
    """(field, edge) for each field a write endpoint stores: at its limit, and beyond it
    where it has one."""
    for key, (row, use, _column) in sorted(TEXT_FIELDS.items()):
        if row is not None and use != LOOKUP:
            yield key, "at"
            if TEXT_PROPERTIES[key] is not None:
                yield key, "beyond"


EDGES = list(_edges())


def _allowed(row: str) -> tuple[str, int]:
    expected = ENDPOINTS[row][3]
    return next((who, code) for who, code in expected.items() if who and code < 300)


def _text(length: int) -> str:
    # Letters a username accepts too, and no spaces for fields stripped of them.
    return ("Ab" * length)[:length]


LONG_TEXT = 10_000


@pytest.mark.parametrize(("key", "edge"), EDGES, ids=[f"{'.'.join(k)}-{e}" for k, e in EDGES])
def test_text_at_and_beyond_each_limit(world, key, edge):
    """At the limit (or 10,000 characters where there is none): a free text is kept; a code
    may be refused, naming the field. Beyond it: refused with 400 naming the field, and
    nothing written. Never a 500."""
    _body, path = key
    row, use, _column = TEXT_FIELDS[key]
    method, url, body, _expected = ENDPOINTS[row]
    who, ok = _allowed(row)
    limit = TEXT_PROPERTIES[key]
    length = (limit if edge == "at" else limit + 1) if limit is not None else LONG_TEXT
    target = url(world)
    sent = _set(body(world), path, _text(length))
    client = APIClient()
    client.force_authenticate(world.users[who])
    before = counts()
    answer = getattr(client, method)(target, sent, format="json")
    assert answer.status_code < 500, answer.content[:500]
    field = path.split(".")[-1] if not path.split(".")[-1].isdigit() else path.split(".")[-2]
    if edge == "beyond":
        assert answer.status_code == 400, answer.content[:300]
        assert any(field in name for name in answer.json()["error"]["fields"]), answer.json()
        assert counts() == before
    elif use in (FREE, REASON, SECRET):
        assert answer.status_code == ok, answer.content[:500]
    elif answer.status_code >= 400:
        assert any(field in name for name in answer.json()["error"]["fields"]), answer.json()


@pytest.mark.parametrize(
    "row",
    ["BUC response change", "BUC site edit", "BUC consent correct", "query answer"],
)
def test_a_reason_of_150_characters_is_kept_whole(world, row):
    """The review's four: a reason longer than simple-history's old varchar(100)."""
    from audit.models import AuditEvent as Event

    method, url, body, _expected = ENDPOINTS[row]
    who, ok = _allowed(row)
    reason = ("Checked against the paper form with the parent at the home visit; " * 3)[:149] + "."
    sent = {**body(world), "reason": reason}
    if row == "query answer":
        from ..access import crf_query

        query = crf_query(world)
        target = f"/api/v1/queries/{query.pk}/answer/"
        other = another_answer(query.response, "item_3")
        sent = {"text": "Corrected.", "correction": {"item_3": other}, "reason": reason}
    else:
        target = url(world)
    client = APIClient()
    client.force_authenticate(world.users[who])
    answer = getattr(client, method)(target, sent, format="json")
    assert answer.status_code == ok, answer.content[:500]
    assert Event.objects.filter(reason=reason).exists()
    histories = [m for m in apps.get_models() if m.__name__.startswith("Historical")]
    assert any(m.objects.filter(history_change_reason=reason).exists() for m in histories)

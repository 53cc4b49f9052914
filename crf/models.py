"""Form versions, responses, data queries and casebook signatures. Fields and constraints
only: the rules are in the services."""

from functools import cached_property

import yaml
from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from audit.events import Concealed

from .spec import FormSpec, parse_spec

_specs: dict[str, FormSpec] = {}


class FormDefinition(models.Model):
    """One version of one form, as loaded from its spec file. Never changed once loaded:
    a changed form is a new version, and responses keep the version they were entered on."""

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="forms")
    form = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    file_name = models.CharField(max_length=200)
    source_text = models.TextField(help_text="the spec file as loaded; parsed from here")
    sha256 = models.CharField(max_length=64)
    # From the spec, kept as columns so that reads can filter on them.
    reveals_arm = models.BooleanField(default=False)
    repeatable = models.BooleanField(default=False)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    loaded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["form", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "form", "version"], name="one_definition_per_form_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.form} v{self.version}"

    @property
    def spec(self) -> FormSpec:
        if self.sha256 not in _specs:
            _specs[self.sha256] = parse_spec(
                yaml.safe_load(self.source_text), self.file_name, self.source_text
            )
        return _specs[self.sha256]


class ResponseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETE = "complete", "Complete"
    VERIFIED = "verified", "Verified"


class Response(models.Model):
    """A family's answers to one form at one visit (or, for an any-time form, its n-th)."""

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="responses")
    definition = models.ForeignKey(
        FormDefinition, on_delete=models.PROTECT, related_name="responses"
    )
    form = models.CharField(max_length=40)
    visit = models.CharField(max_length=40, blank=True, help_text="blank for an any-time form")
    number = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=ResponseStatus.choices)
    values = models.JSONField(default=dict)
    missing = models.JSONField(default=dict, help_text="field: missing-data code")
    scores = models.JSONField(default=dict)
    alerts = models.JSONField(default=list)
    dated_on = models.DateField(null=True, blank=True, help_text="the date that dates the visit")
    revision = models.PositiveIntegerField(default=1)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "visit", "form", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "visit", "form", "number"], name="one_response_per_slot"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "complete", "verified"]),
                name="response_status_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="verified") | models.Q(verified_at__isnull=False),
                name="verified_response_has_verifier",
            ),
        ]
        indexes = [
            models.Index(fields=["family", "status"]),
            # A family's forms done at a visit, with the columns the oversight reports count
            # (date, verification): read from the index alone, not the rows with their answers.
            models.Index(
                fields=["family", "visit", "status", "form", "dated_on", "verified_at"],
                name="crf_response_slot_status_idx",
            ),
            # The families that have one form done (at one visit), as the CONSORT diagram and
            # the balance table ask: the form's few rows, not every response of the trial;
            # and whether one family has it, as a look-up.
            models.Index(
                fields=["form", "family", "visit", "status"], name="crf_response_form_idx"
            ),
        ]

    def __str__(self) -> str:
        where = self.visit or f"#{self.number}"
        return f"{self.form} at {where} for family {self.family_id}"

    @cached_property
    def spec(self) -> FormSpec:
        return self.definition.spec

    @property
    def conceal(self) -> str:
        """What the ledger withholds of this response's events from blinded viewers."""
        return Concealed.EVENT if self.definition.reveals_arm else ""


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class Query(models.Model):
    """A question about one field of a response, raised by a monitor or an automatic check.
    Open until the monitor closes it; the coordinator's answer makes it answered."""

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="queries")
    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="queries")
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="queries")
    field = models.CharField(max_length=80)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default="open")
    automatic = models.BooleanField(default=False)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["raised_at", "id"]
        verbose_name_plural = "queries"
        indexes = [models.Index(fields=["site", "status"])]

    def __str__(self) -> str:
        return f"query {self.pk} on {self.field}"

    @property
    def field_label(self) -> str:
        """The question it is about, in the form's words."""
        return self.response.spec.slot_label(self.field)


class QueryMessage(models.Model):
    """One step of a query's thread: raised, answered, corrected, closed, reopened."""

    class Kind(models.TextChoices):
        RAISED = "raised", "Raised"
        ANSWERED = "answered", "Answered"
        CORRECTED = "corrected", "Corrected"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Re-opened"

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on query {self.query_id}"


class Signature(models.Model):
    """A principal investigator's signature of a family's casebook (21 CFR 11.50): who, when,
    what it means, and the SHA-256 of the content signed. A later change to any signed
    response invalidates it; it is never deleted."""

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(max_length=301, help_text="first name, a space, last name")
    meaning = models.CharField(max_length=300)
    signed_at = models.DateTimeField(auto_now_add=True)
    content_sha256 = models.CharField(max_length=64)
    content = models.JSONField(help_text="[response id, revision] of each response signed")
    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidated_reason = models.TextField(blank=True)
    # Invalidated by a change to a form that reveals the arm: its reason names that form, so
    # viewers blinded at the site are shown that a concealed form changed, not which.
    invalidation_reveals_arm = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "signed_at", "id"]

    def __str__(self) -> str:
        return f"signature of {self.family_id}'s casebook by {self.signer_name}"

    @property
    def valid(self) -> bool:
        return self.invalidated_at is None


class NotDone(models.Model):
    """A scheduled form that will not be entered, and why (a missed visit, a refusal): it is
    then no longer expected, so it neither shows as due nor blocks a lock."""

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="not_done")
    visit = models.CharField(max_length=40)
    form = models.CharField(max_length=40)
    reason = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "visit", "form"]
        constraints = [
            models.UniqueConstraint(fields=["family", "visit", "form"], name="not_done_once")
        ]

    def __str__(self) -> str:
        return f"{self.form} at {self.visit} not done for family {self.family_id}"

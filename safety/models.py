"""Safety events (serious adverse events and safeguarding incidents) as a workflow around
their case report form, and emergency unblinding.

The event's answers (dates, seriousness, relatedness, expectedness, outcome) live in the
response to the trial's safety form, changed only through the forms' services; the event
holds what the workflow adds: when the site became aware, who assessed, reviewed and
followed it up, and when, and the ethics committee report."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class SafetyStatus(models.TextChoices):
    REPORTED = "reported", "Waiting for the PI's assessment"
    ASSESSED = "assessed", "Waiting for the chief investigator's review"
    REVIEWED = "reviewed", "Reviewed: follow-up until an outcome"
    CLOSED = "closed", "Closed: outcome recorded"


class SafetyEvent(models.Model):
    family = models.ForeignKey(
        "trial.Family", on_delete=models.PROTECT, related_name="safety_events"
    )
    response = models.OneToOneField(
        "crf.Response", on_delete=models.PROTECT, related_name="safety_event"
    )
    kind = models.CharField(max_length=20)
    status = models.CharField(
        max_length=10, choices=SafetyStatus.choices, default=SafetyStatus.REPORTED
    )
    # The site's initial report.
    aware_at = models.DateTimeField(help_text="when the site became aware of the event")
    reported_at = models.DateTimeField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    late_reason = models.TextField(blank=True)
    referral_to = models.CharField(max_length=200, blank=True)
    referral_on = models.DateField(null=True, blank=True)
    # The principal investigator's assessment, signed with their password.
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessment_meaning = models.TextField(blank=True)
    # The chief investigator's review: they may agree, or judge the event related or
    # unexpected where the PI did not (never the reverse).
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    ci_relatedness = models.CharField(max_length=20, blank=True)
    ci_expectedness = models.CharField(max_length=20, blank=True)
    review_note = models.TextField(blank=True)
    # The research ethics committee report, for an event related and unexpected.
    reportable = models.BooleanField(default=False)
    rec_due_on = models.DateField(null=True, blank=True)
    rec_reported_on = models.DateField(null=True, blank=True)
    rec_reference = models.CharField(max_length=100, blank=True)
    rec_reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-aware_at", "-pk"]
        indexes = [models.Index(fields=["status", "aware_at"])]

    def __str__(self) -> str:
        return f"Safety event {self.family.identifier} #{self.response.number}"


class SafetyFollowUp(models.Model):
    """A follow-up report: the outcome as it now stands, and what happened since."""

    event = models.ForeignKey(SafetyEvent, on_delete=models.PROTECT, related_name="follow_ups")
    reported_at = models.DateTimeField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=20)
    note = models.TextField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["event", "reported_at", "pk"]

    def __str__(self) -> str:
        return f"Follow-up of {self.event}: {self.outcome}"


class SafetyReminder(models.Model):
    """A reminder sent for one step of one event on one day: at most one a day each."""

    event = models.ForeignKey(SafetyEvent, on_delete=models.CASCADE, related_name="reminders")
    step = models.CharField(max_length=20)
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "step", "sent_on"], name="one_safety_reminder_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"Reminder of {self.step} for {self.event} on {self.sent_on}"


class EmergencyUnblinding(models.Model):
    """A blinded person's request to learn one family's arm for a safety reason: approved
    (or refused) by another person, then shown to the requester once."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        APPROVED = "approved", "Approved: the arm can be shown once"
        REFUSED = "refused", "Refused"
        SHOWN = "shown", "Shown"

    family = models.ForeignKey(
        "trial.Family", on_delete=models.PROTECT, related_name="emergency_unblindings"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    shown_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Emergency unblinding of {self.family.identifier} ({self.status})"

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from trial.crypto import EncryptedDateField


class ScreeningOutcome(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    ELIGIBLE = "eligible", "Eligible and approached"
    DECLINED = "declined", "Declined"
    OTHER = "other", "Not enrolled: other reason"
    CONSENTED = "consented", "Consented and enrolled"


class ScreeningRecord(models.Model):
    """One referral, screened. Needs no identifying data: the child's date of birth (or due
    date) is kept encrypted, only to derive ages; the log itself holds ages and bands."""

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="screenings")
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="screenings")
    identifier = models.CharField(max_length=32, unique=True)
    referral_date = models.DateField()
    referrer_type = models.CharField(max_length=40)
    child_born = models.BooleanField()
    child_date_of_birth = EncryptedDateField(blank=True, null=True)
    expected_due_date = EncryptedDateField(blank=True, null=True)
    child_age_days = models.PositiveIntegerField(null=True, blank=True)
    child_age_months = models.PositiveIntegerField(null=True, blank=True)
    gestation_days = models.PositiveIntegerField(null=True, blank=True)
    age_band = models.CharField(max_length=40, blank=True)
    answers = models.JSONField(help_text="criterion key → yes/no")
    eligible = models.BooleanField()
    failed_criterion = models.CharField(max_length=60, blank=True)
    interpreter_needed = models.BooleanField(default=False)
    interpreter_language = models.CharField(max_length=60, blank=True)
    outcome = models.CharField(max_length=20, choices=ScreeningOutcome.choices)
    outcome_reason = models.CharField(max_length=60, blank=True, help_text="coded reason")
    outcome_note = models.TextField(blank=True)
    outcome_date = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-referral_date", "-id"]
        indexes = [models.Index(fields=["site", "outcome"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(eligible=True, failed_criterion="")
                | Q(eligible=False, outcome="not_eligible") & ~Q(failed_criterion=""),
                name="screening_verdict_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.identifier

    @property
    def gestation_weeks(self) -> int | None:
        return None if self.gestation_days is None else self.gestation_days // 7

    @property
    def is_open(self) -> bool:
        """Eligible and approached, with no outcome yet: may still decline or enrol."""
        return self.outcome == ScreeningOutcome.ELIGIBLE

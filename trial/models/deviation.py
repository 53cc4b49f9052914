from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class ProtocolDeviation(models.Model):
    class Kind(models.TextChoices):
        ELIGIBILITY = "eligibility", "Eligibility"
        CONSENT = "consent", "Consent"
        STRATIFICATION_ERROR = "stratification_error", "Stratification error"
        OUT_OF_WINDOW = "out_of_window", "Out of window"
        ASSESSOR_UNBLINDED = "assessor_unblinded", "Assessor unblinded"
        CONTAMINATION = "contamination", "Contamination"

    class Severity(models.TextChoices):
        MINOR = "minor", "Minor"
        MAJOR = "major", "Major"

    # What these say can tell a family's arm (a usual-care family given the intervention, an
    # assessor told the arm): hidden from readers blinded at the family's site.
    REVEALS_ARM = (Kind.CONTAMINATION, Kind.ASSESSOR_UNBLINDED)

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="deviations")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    occurred_on = models.DateField()
    description = models.TextField()
    action = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "occurred_on", "id"]

    def __str__(self) -> str:
        return f"{self.family} {self.get_kind_display()} ({self.severity})"
